"""The help text of every setting of `rollcall serve`, by the setting's name.

Rule 1: every field of service.config.Settings has one entry here, under its
own name (an alias has none: its flag's help names the setting instead).
Rule 2: the CLI builds `serve --help` from these entries, adding the variable
and the default; docs/operations.md shows the same text in its settings table.
"""

from __future__ import annotations

SETTINGS_HELP: dict[str, str] = {
    "grpc_listen": "host:port for the gRPC server",
    "grpc_max_connection_age_seconds": (
        "close each client connection (GOAWAY) after about this many seconds, so clients"
        " reconnect and spread over new replicas (0 = never)"
    ),
    "grpc_max_connection_age_grace_seconds": (
        "seconds RPCs and watch streams may run on an aged connection before it is cut"
        " (UNAVAILABLE; watch clients resume by revision)"
    ),
    "http_listen": "host:port for the REST gateway ('' to disable)",
    "metrics_listen": "host:port for Prometheus metrics at /metrics ('' to disable)",
    "database": "SQLite database file, or a postgresql://USER:PASSWORD@HOST:PORT/DB URL",
    "database_pool_size": "PostgreSQL: connections in the pool",
    "database_statement_timeout_seconds": (
        "PostgreSQL: longest a statement or lock wait may take before the request fails UNAVAILABLE"
    ),
    "database_tls": (
        "PostgreSQL TLS: '' (as the URL's sslmode says), disable, require, verify-ca or verify-full"
    ),
    "database_tls_ca_file": "PostgreSQL TLS: CA certificates file for verify-ca/verify-full",
    "watch_poll_seconds": (
        "PostgreSQL: seconds between re-reads of watched conferences, in case a"
        " notification from another replica was lost"
    ),
    "accounts": "accounts as comma-separated ACSID:AUTHTOKEN pairs",
    "api_keys": "API keys as comma-separated SKSID:SECRET:ACSID triples",
    "demo_account": (
        "demo account: 'auto' (only when no accounts are given, or a demo SID or token is),"
        " 'on' or 'off'"
    ),
    "demo_account_sid": "SID of the demo account (generated and kept in the database when unset)",
    "demo_auth_token": (
        "auth token of the demo account (generated, kept in the database and printed once"
        " when unset)"
    ),
    "carrier": (
        "carrier adapter: 'simulated' (no phone rings) or 'twilio' (a Twilio-compatible"
        " Participants API; see the twilio_* settings). Old name: --dialer, ROLLCALL_DIALER;"
        " when both names are given, --carrier (or ROLLCALL_CARRIER) wins, and a flag beats"
        " a variable"
    ),
    "sim_ring_seconds": "simulated carrier: seconds a call rings before it is answered",
    "sim_outcomes": (
        "simulated carrier: per-destination outcomes, comma-separated TO=OUTCOME with OUTCOME one"
        " of answer, answer:RING_SECONDS, busy, no-answer, failed, hangup:SECONDS"
    ),
    "sim_calls_per_second": (
        "simulated carrier: calls placed per second per account (0 = unlimited)"
    ),
    "twilio_base_url": "twilio carrier: base URL of the Twilio-compatible REST API",
    "twilio_accounts": (
        "twilio carrier: upstream credentials per Rollcall account, comma-separated"
        " ACROLLCALL=ACUPSTREAM:AUTHTOKEN or ACROLLCALL=ACUPSTREAM:AUTHTOKEN:SKKEY:SECRET"
        " (the auth token also checks the carrier's callback signatures)"
    ),
    "twilio_calls_per_second": (
        "twilio carrier: calls placed per second per upstream account (Twilio's default"
        " is 1; 0 = unlimited)"
    ),
    "twilio_timeout_seconds": (
        "twilio carrier: seconds the carrier gets (retries included) before a request"
        " fails UNAVAILABLE"
    ),
    "replica_id": (
        "PostgreSQL: this replica's name, unique among live replicas (default: the host name);"
        " a restart with the same name resolves its own calls at once"
    ),
    "replica_heartbeat_seconds": (
        "PostgreSQL: seconds between a replica's heartbeats and its checks for work left"
        " by stopped replicas"
    ),
    "replica_timeout_seconds": (
        "PostgreSQL: seconds without a heartbeat after which a replica's calls are"
        " resolved by another"
    ),
    "grace_seconds": "seconds in-flight RPCs get to finish after SIGTERM",
    "drain_seconds": (
        "seconds after SIGTERM during which health says NOT_SERVING while calls are still"
        " served, so load balancers stop sending before the server refuses"
    ),
    "max_in_flight": (
        "unary calls (gRPC and REST) served at once; beyond it calls are refused"
        " RESOURCE_EXHAUSTED (OVERLOADED) at once (0 = unlimited)"
    ),
    "log_level": "log level (DEBUG, INFO, WARNING, ERROR)",
    "watch_progress_seconds": "seconds between progress markers on an idle watch stream",
    "event_retention_seconds": "events older than this (seconds) may be compacted",
    "event_retention_count": "newest events kept per conference whatever their age",
    "compaction_interval_seconds": "seconds between event compaction runs",
    "watchers_per_account": "concurrent WatchConference streams allowed per account",
    "requests_per_second": "unary requests per second per account, sustained (0 = unlimited)",
    "request_burst": "unary requests an account may make at once before the rate applies",
    "public_base_url": (
        "base URL this server is reached at from outside; the twilio carrier asks the"
        " carrier to send its callbacks there (default: http://HTTP_LISTEN)"
    ),
    "callback_max_attempts": (
        "attempts per status callback before it is kept as a dead letter"
        " (the default spans a receiver outage of an hour)"
    ),
    "callback_backoff_seconds": "seconds before the first status callback retry (then doubling)",
    "callback_backoff_max_seconds": "longest wait between status callback retries, in seconds",
    "callback_timeout_seconds": "seconds a status callback receiver gets to answer one attempt",
    "database_check_seconds": (
        "seconds between probes of the store for health (SQLite: the file is still the"
        " one at its path and reads; PostgreSQL: SELECT 1); 0 = no probes, health then"
        " turns NOT_SERVING only when a write finds the SQLite file gone"
    ),
    "callback_allow_networks": (
        "comma-separated CIDRs callback URLs may reach ('' = any not denied);"
        " the most specific matching allow or deny network decides"
    ),
    "callback_deny_networks": (
        "comma-separated CIDRs callback URLs may not reach, checked when the URL is given"
        " and again at delivery"
    ),
    "http_header_timeout_seconds": (
        "REST: seconds a client gets to send a complete request head (0 = no limit)"
    ),
    "http_body_timeout_seconds": (
        "REST: seconds a client gets to send a request body after its head (0 = no limit)"
    ),
    "http_idle_timeout_seconds": "REST: seconds an idle keep-alive connection stays open",
    "grpc_keepalive_seconds": (
        "the server pings (HTTP/2 PING) each gRPC connection, idle ones included, that it"
        " has heard nothing on for this many seconds; a connection whose ping goes"
        " unanswered is closed and its watch streams freed (0 = no pings)"
    ),
    "grpc_keepalive_timeout_seconds": (
        "seconds a keepalive ping may go unanswered before the server closes the connection"
    ),
    "grpc_keepalive_min_client_seconds": (
        "shortest interval between a client's keepalive pings the server accepts, with or"
        " without calls in flight; a client pinging more often is sent GOAWAY"
        " (too_many_pings). The Python client pings every 20 s (0 = any)"
    ),
    "ended_participant_retention_seconds": (
        "seconds an ended participant stays listed and fetchable after its call ended"
        " (0 = for ever)"
    ),
    "ended_conference_retention_seconds": (
        "seconds an ended conference, its participants and its last events are kept after"
        " it ended and its status callbacks are done (0 = for ever)"
    ),
    "request_id_retention_seconds": (
        "seconds a Create's request_id makes a retry return the first result; after it the"
        " same request_id is a new Create (0 = for ever)"
    ),
    "carrier_call_retention_seconds": (
        "seconds the carrier's record of an ended call (its sequence numbers) and an"
        " unresolved placement are kept (0 = for ever)"
    ),
    "carrier_callback_retention_seconds": (
        "seconds a carrier callback's idempotency token is kept, so a retried callback is"
        " applied once (0 = for ever)"
    ),
    "dead_letter_retention_seconds": (
        "seconds a status callback dead letter is kept for redelivery (0 = until its event"
        " is compacted)"
    ),
    "retention_interval_seconds": "seconds between retention passes",
    "retention_batch": (
        "rows removed per transaction by the retention pass and event compaction (each"
        " batch holds the writer only briefly)"
    ),
    "login_failure_burst": (
        "failed logins (gRPC and REST) a source address may make before it is refused"
        " RESOURCE_EXHAUSTED TOO_MANY_FAILED_LOGINS (REST 429) until it recovers (0 = no limit)"
    ),
    "login_failures_per_minute": (
        "failed logins a minute a source address recovers, after its burst"
    ),
    "account_login_failure_burst": (
        "failed logins on one account, from any sources, before sources that failed lately"
        " are refused for it (sources that have not failed are still checked; 0 = no limit)"
    ),
    "account_login_failures_per_minute": (
        "failed logins a minute an account recovers, after its burst"
    ),
    "allow_short_secrets": (
        "accept auth tokens and API key secrets shorter than 32 characters (for tests"
        " only: logged as a warning at start)"
    ),
    "watch_account_conferences": (
        "the most conferences one WatchAccount stream follows (live ones passing its"
        " filter, and ones begun since a resumed cursor); beyond it the stream ends"
        " RESOURCE_EXHAUSTED (ACCOUNT_WATCH_TOO_LARGE), or a resume CURSOR_EXPIRED"
    ),
    "database_probe_timeout_seconds": (
        "a store probe not answered within this many seconds has failed"
    ),
    "health_failure_threshold": (
        "failed store probes in a row after which health (gRPC and REST /readyz) says NOT_SERVING"
    ),
    "health_success_threshold": (
        "good store probes in a row after which health says SERVING again"
    ),
    "watch_token_seconds": (
        "seconds a watch token (minted for a browser: WatchAccount and the REST event"
        " stream only) opens streams; a stream it opened ends then"
        " (UNAUTHENTICATED WATCH_TOKEN_EXPIRED) and the client mints another"
    ),
    "http_cors_origins": (
        "REST: comma-separated origins (https://host[:port]) whose pages may call the"
        " gateway from another origin (CORS); '' = none, cross-origin use is off"
    ),
    "max_wait_seconds": (
        "longest a unary gRPC call may wait (in gRPC's queue, then for the event loop) before"
        " it is handled; one that waited longer is refused RESOURCE_EXHAUSTED (OVERLOADED,"
        " REST 429) at once instead of being served late (0 = never; health checks and"
        " watch streams are never refused for it)"
    ),
    # Issue 25: calls gone quiet are looked up at the carrier.
    "carrier_quiet_call_seconds": (
        "remote carrier: an open call with no change for this many seconds is looked up at"
        " the carrier by the replica holding the maintenance lease (at its next retention"
        " pass) and reconciled, so lost carrier callbacks are repaired (0 = never)"
    ),
    # Issue 28 (accountability and privacy).
    "trusted_proxies": (
        "comma-separated CIDRs of proxies (a standalone REST gateway, a load balancer) whose"
        " X-Forwarded-For (gRPC: x-forwarded-for metadata) is believed: the nearest address"
        " in it that is not a trusted proxy is recorded as the actor's forwarded address"
        " ('' = believe none)"
    ),
    "audit_retention_seconds": (
        "seconds an audit record (who changed what, from where) is kept, however soon the"
        " event log is compacted (0 = for ever)"
    ),
    "number_hash_key": (
        "secret key of the keyed hash (HMAC-SHA256) that indexes phone numbers for look-up"
        " and erasure; '' = a random key generated once and kept in the database"
    ),
    "personal_data_retention_seconds": (
        "seconds after its call ended that a participant's personal data (numbers, SIP and"
        " client addresses, label, caller name, attributes) is kept before it is redacted in"
        " place, in its events, audit trail, dead letters and request records too; SIDs,"
        " revisions, times and statuses stay (0 = as long as the participant is kept)"
    ),
    "account_personal_data_retention": (
        "per-account personal data windows as comma-separated ACSID:SECONDS pairs, overriding"
        " personal_data_retention_seconds for those accounts (0 = as long as the participant)"
    ),
    # issue 29: the render cache
    "render_cache_entries": (
        "participant revisions kept rendered (the gRPC answer bytes and the REST JSON) for"
        " Fetch and List; the oldest go first"
    ),
    # Issue 24: live clocks, speaking state, attributes.
    "speaking_interval_seconds": (
        "the carrier's speech reports are published as speaking events at most once per"
        " participant per this many seconds, with the latest state (0 = as they come)"
    ),
    "alert_defaults": (
        "alert rules of conferences created without their own: ';'-separated"
        " ACCOUNT:key=value,... entries (ACCOUNT '*' for every account; keys hold,"
        " duration, empty, no_agent in seconds, agent=KEY=VALUE, end=true|false)"
    ),
    # Issue 26: TLS (service.tls).
    "tls_cert_file": (
        "PEM certificate chain served on the gRPC and REST ports; with tls_key_file it turns"
        " TLS on ('' = plaintext); reloaded when the file changes"
    ),
    "tls_key_file": "PEM private key of tls_cert_file; reloaded when the file changes",
    "tls_client_ca_file": (
        "PEM CA certificates for mutual TLS: clients must present a certificate signed by"
        " one ('' = no client certificates asked)"
    ),
}
