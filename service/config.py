"""Settings for `rollcall serve`: one dataclass, every field also a ROLLCALL_* variable.

Rule 1: each setting has exactly one name and one default, here, and one
help text in service.config_help; the CLI builds its flags from Settings.
Rule 2: a setting's variable is always ROLLCALL_ + its upper-cased name.
Rule 3: a renamed setting keeps its old name as an alias (ALIASES: flag
--OLD-NAME and variable ROLLCALL_OLD_NAME); a flag beats a variable, and when
both names are given at the same level the setting's own name wins.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

ENV_PREFIX = "ROLLCALL_"


@dataclasses.dataclass(frozen=True)
class Settings:
    grpc_listen: str = "127.0.0.1:50051"
    grpc_max_connection_age_seconds: float = 0.0
    grpc_max_connection_age_grace_seconds: float = 30.0
    http_listen: str = "127.0.0.1:8080"
    metrics_listen: str = "127.0.0.1:9464"
    database: str = "rollcall.sqlite3"
    database_pool_size: int = 20
    database_statement_timeout_seconds: float = 30.0
    database_tls: str = ""
    database_tls_ca_file: str = ""
    watch_poll_seconds: float = 5.0
    replica_id: str = ""
    replica_heartbeat_seconds: float = 2.0
    replica_timeout_seconds: float = 10.0
    # "AC...:token" pairs, comma-separated.
    accounts: str = ""
    # "SK...:secret:AC..." triples, comma-separated.
    api_keys: str = ""
    # auto: a demo account only when no accounts are configured (or a demo
    # SID or token is given); on; off.
    demo_account: str = "auto"
    demo_account_sid: str = ""
    demo_auth_token: str = ""
    carrier: str = "simulated"
    sim_ring_seconds: float = 2.0
    sim_outcomes: str = ""
    sim_calls_per_second: float = 1.0
    twilio_base_url: str = "https://api.twilio.com"
    # "ACrollcall=ACupstream:TOKEN[:SKkey:SECRET]" entries, comma-separated (secret).
    twilio_accounts: str = ""
    twilio_calls_per_second: float = 1.0
    twilio_timeout_seconds: float = 10.0
    grace_seconds: float = 10.0
    drain_seconds: float = 0.0
    max_in_flight: int = 512
    log_level: str = "INFO"
    watch_progress_seconds: float = 10.0
    event_retention_seconds: float = 7 * 24 * 3600.0
    event_retention_count: int = 100_000
    compaction_interval_seconds: float = 60.0
    watchers_per_account: int = 1000
    requests_per_second: float = 0.0
    request_burst: int = 100
    public_base_url: str = ""
    callback_max_attempts: int = 66
    callback_backoff_seconds: float = 1.0
    callback_backoff_max_seconds: float = 60.0
    callback_timeout_seconds: float = 10.0
    database_check_seconds: float = 1.0
    # Comma-separated CIDRs; empty lists leave callback destinations open.
    callback_allow_networks: str = ""
    callback_deny_networks: str = ""
    http_header_timeout_seconds: float = 10.0
    http_body_timeout_seconds: float = 30.0
    http_idle_timeout_seconds: float = 75.0
    grpc_keepalive_seconds: float = 30.0
    grpc_keepalive_timeout_seconds: float = 10.0
    grpc_keepalive_min_client_seconds: float = 10.0
    ended_participant_retention_seconds: float = 7 * 24 * 3600.0
    ended_conference_retention_seconds: float = 7 * 24 * 3600.0
    request_id_retention_seconds: float = 24 * 3600.0
    carrier_call_retention_seconds: float = 2 * 24 * 3600.0
    carrier_callback_retention_seconds: float = 24 * 3600.0
    dead_letter_retention_seconds: float = 7 * 24 * 3600.0
    retention_interval_seconds: float = 60.0
    retention_batch: int = 100
    login_failure_burst: int = 10
    login_failures_per_minute: float = 6.0
    account_login_failure_burst: int = 100
    account_login_failures_per_minute: float = 60.0
    allow_short_secrets: bool = False
    watch_account_conferences: int = 2000
    database_probe_timeout_seconds: float = 2.0
    health_failure_threshold: int = 2
    health_success_threshold: int = 2
    watch_token_seconds: float = 300.0
    # Comma-separated origins (scheme://host[:port]); empty: same origin only.
    http_cors_origins: str = ""
    max_wait_seconds: float = 0.5
    # Issue 25: calls gone quiet are looked up at the carrier.
    carrier_quiet_call_seconds: float = 900.0
    # Issue 28 (accountability and privacy): trusted proxies, the audit
    # trail's window, and the key of the phone-number index (secret).
    trusted_proxies: str = ""
    audit_retention_seconds: float = 30 * 24 * 3600.0
    number_hash_key: str = ""
    personal_data_retention_seconds: float = 0.0
    # "AC...:SECONDS" pairs, comma-separated: per-account personal data windows.
    account_personal_data_retention: str = ""
    # issue 29: the render cache
    render_cache_entries: int = 4096
    # Issue 24: live clocks, speaking state, attributes.
    speaking_interval_seconds: float = 1.0
    # `ACCOUNT:key=value,...` entries, `;`-separated (ACCOUNT `*`: every account).
    alert_defaults: str = ""
    # Issue 26: TLS on the gRPC and REST ports (service.tls).
    tls_cert_file: str = ""
    tls_key_file: str = ""
    tls_client_ca_file: str = ""


# A renamed setting's old name -> its name (Rule 3).
ALIASES: dict[str, str] = {"dialer": "carrier"}


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def _names(field: str) -> list[str]:
    """A setting's names, its own first, then its aliases."""
    return [field, *(old for old, new in ALIASES.items() if new == field)]


def _coerce(field: dataclasses.Field[Any], raw: str) -> Any:
    kind = field.type
    if kind in ("float", float):
        return float(raw)
    if kind in ("int", int):
        return int(raw)
    if kind in ("bool", bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    return raw


def from_env(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from ROLLCALL_* variables, then explicit overrides (flags win).

    Overrides may use an alias (dialer=...); a setting's own name wins over it.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Settings):
        names = _names(field.name)
        given = [v for v in (overrides.pop(n, None) for n in names) if v is not None]
        if given:
            values[field.name] = given[0]
            continue
        for name in (env_name(n) for n in names):
            if name in environ:
                try:
                    values[field.name] = _coerce(field, environ[name])
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from exc
                break
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def parse_accounts(spec: str) -> dict[str, str]:
    """'AC1:tok1,AC2:tok2' -> {AC1: tok1, AC2: tok2}."""
    accounts: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        sid, sep, token = item.partition(":")
        if not sep or not sid or not token:
            raise ValueError(f"bad account entry {sid!r}: expected ACSID:AUTHTOKEN")
        accounts[sid] = token
    return accounts


def parse_account_seconds(spec: str) -> dict[str, float]:
    """'AC1:86400,AC2:0' -> {AC1: 86400.0, AC2: 0.0}."""
    found: dict[str, float] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        sid, sep, seconds = item.partition(":")
        try:
            found[sid] = float(seconds)
        except ValueError:
            raise ValueError(f"bad entry {sid!r}: expected ACSID:SECONDS") from None
        if not sep or not sid:
            raise ValueError(f"bad entry {sid!r}: expected ACSID:SECONDS")
    return found


def parse_api_keys(spec: str) -> dict[str, tuple[str, str]]:
    """'SK1:secret:AC1' -> {SK1: (secret, AC1)}."""
    keys: dict[str, tuple[str, str]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        parts = item.split(":")
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"bad API key entry {parts[0]!r}: expected SKSID:SECRET:ACSID")
        keys[parts[0]] = (parts[1], parts[2])
    return keys
