"""A whole Rollcall with `--carrier twilio` in front of the fake carrier
(tests.fakes.carrier), for the end-to-end tests that need both."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from tests.conftest import ACCOUNT_SID, Harness, make_settings, serving
from tests.fakes.carrier import FakeCarrier, running

UPSTREAM = "AC" + "9" * 32
UPSTREAM_TOKEN = "fake-carrier-token-" + "7" * 13


@contextlib.asynccontextmanager
async def rollcall_on_carrier(tmp_path: Path) -> AsyncIterator[tuple[Harness, FakeCarrier]]:
    async with running({UPSTREAM: UPSTREAM_TOKEN}) as carrier:
        settings = make_settings(
            tmp_path,
            carrier="twilio",
            twilio_base_url=carrier.base_url,
            twilio_accounts=f"{ACCOUNT_SID}={UPSTREAM}:{UPSTREAM_TOKEN}",
            twilio_calls_per_second=0.0,
        )
        async with serving(settings) as h:
            yield h, carrier
