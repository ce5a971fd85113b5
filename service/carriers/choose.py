"""Which carrier a process runs, built from its settings (the `carrier` setting).

Rule 1: this factory is the one module that imports both carriers
(service.carriers.simulated and service.carriers.twilio); the carriers never
import each other.
Rule 2: an unknown carrier name or a malformed upstream account is refused at
start; the message names the setting, never a secret.
Rule 3: every upstream secret is registered with the redactor before anything
can log it.
"""

from __future__ import annotations

import dataclasses

from service import redact
from service.carriers.simulated.adapter import SimulatedCarrier
from service.carriers.simulated.calls import parse_outcomes
from service.carriers.twilio import config as twilio_config
from service.carriers.twilio.adapter import TwilioCarrier
from service.carriers.twilio.forms import CallbackUrls
from service.clock import Clock
from service.config import Settings
from service.core.ports.carrier import Carrier, ReportSink

CARRIERS = ("simulated", "twilio")


@dataclasses.dataclass
class Chosen:
    carrier: Carrier
    # Set for the twilio carrier: the adapter (its callback URLs are set once
    # the HTTP server's address is known), the signing token per upstream
    # account, and the Rollcall accounts each upstream account may touch.
    twilio: TwilioCarrier | None = None
    signing_tokens: dict[str, str] = dataclasses.field(default_factory=dict)
    tenants: dict[str, frozenset[str]] = dataclasses.field(default_factory=dict)


def choose(settings: Settings, clock: Clock, sink: ReportSink) -> Chosen:
    s = settings
    if s.carrier == "simulated":
        return Chosen(
            SimulatedCarrier(
                clock,
                sink,
                ring_seconds=s.sim_ring_seconds,
                outcomes=parse_outcomes(s.sim_outcomes),
                calls_per_second=s.sim_calls_per_second,
            )
        )
    if s.carrier != "twilio":
        raise ValueError(f"unknown carrier {s.carrier!r}: expected one of {', '.join(CARRIERS)}")
    try:
        accounts = twilio_config.parse_upstream_accounts(s.twilio_accounts)
    except ValueError as exc:
        raise ValueError(f"ROLLCALL_TWILIO_ACCOUNTS: {exc}") from None
    for account in accounts.values():
        redact.register_secret(account.auth_token)
        if account.api_key_secret:
            redact.register_secret(account.api_key_secret)
    if not accounts:
        raise ValueError("the twilio carrier needs ROLLCALL_TWILIO_ACCOUNTS (--twilio-accounts)")
    options = twilio_config.TwilioOptions(
        base_url=s.twilio_base_url,
        calls_per_second=s.twilio_calls_per_second,
        unavailable_after_seconds=s.twilio_timeout_seconds,
        request_timeout_seconds=s.twilio_timeout_seconds,
    )
    # The callback URLs are filled in once the HTTP server listens.
    adapter = TwilioCarrier(accounts, CallbackUrls("", ""), clock, options)
    return Chosen(
        adapter,
        adapter,
        twilio_config.signing_tokens(accounts),
        twilio_config.tenants(accounts),
    )
