"""The failed-login throttle (service.logins) through the Authenticator, on the manual clock."""

from __future__ import annotations

import pytest
from google.rpc import error_details_pb2

from service import logins
from service.auth import Authenticator, check_secrets
from service.clock import ManualClock
from service.core.errors import RollcallError
from service.metrics import REGISTRY
from service.rpc.status import to_status
from tests.conftest import basic

AC = "AC" + "a" * 32
TOKEN = "t" * 32
SK = "SK" + "c" * 32
SECRET = "s" * 32


def auth(clock: ManualClock, *, burst: int = 3, account_burst: int = 100) -> Authenticator:
    throttle = logins.LoginThrottle(
        clock, logins.Budget(burst, 6.0), logins.Budget(account_burst, 6.0)
    )
    return Authenticator({AC: TOKEN}, {SK: (SECRET, AC)}, throttle=throttle)


def attempt(a: Authenticator, source: str, password: str, user: str = AC) -> str:
    """'ok', or the refusal's reason."""
    logins.calling("grpc", source)
    try:
        a.authenticate(basic(user, password))
    except RollcallError as error:
        return error.reason
    return "ok"


def failures(face: str, reason: str) -> float:
    labels = {"face": face, "reason": reason}
    return REGISTRY.get_sample_value("rollcall_login_failures_total", labels) or 0.0


def test_a_source_over_its_burst_is_refused_until_it_recovers() -> None:
    clock = ManualClock()
    a = auth(clock)
    assert [attempt(a, "10.0.0.1", "wrong") for _ in range(3)] == ["CREDENTIALS_INVALID"] * 3
    logins.calling("grpc", "10.0.0.1")
    with pytest.raises(RollcallError) as refused:
        a.authenticate(basic(AC, TOKEN))  # the right token too: nothing is checked
    assert refused.value.reason == "TOO_MANY_FAILED_LOGINS"
    assert refused.value.http_status == 429 and refused.value.twilio_code == 20429
    assert refused.value.metadata["retry_after_seconds"] == "10"  # 6 a minute
    assert attempt(a, "10.0.0.2", TOKEN) == "ok"  # another source is not touched


async def test_the_budget_refills_on_the_clock() -> None:
    clock = ManualClock()
    a = auth(clock)
    for _ in range(3):
        attempt(a, "10.0.0.1", "wrong")
    assert attempt(a, "10.0.0.1", TOKEN) == "TOO_MANY_FAILED_LOGINS"
    await clock.advance(10.0)
    assert attempt(a, "10.0.0.1", TOKEN) == "ok"
    assert attempt(a, "10.0.0.1", "wrong") == "CREDENTIALS_INVALID"
    assert attempt(a, "10.0.0.1", "wrong") == "TOO_MANY_FAILED_LOGINS"


def test_an_account_under_attack_is_refused_to_failing_sources_only() -> None:
    clock = ManualClock()
    a = auth(clock, burst=10, account_burst=3)
    # A guess spread over many sources, one each.
    assert [attempt(a, f"10.0.1.{n}", "wrong") for n in range(3)] == ["CREDENTIALS_INVALID"] * 3
    # The account is over its budget: a new source gets its one guess checked...
    assert attempt(a, "10.0.2.1", "wrong") == "CREDENTIALS_INVALID"
    # ...and is refused from then on, as is every source that failed.
    assert attempt(a, "10.0.2.1", "wrong") == "TOO_MANY_FAILED_LOGINS"
    assert attempt(a, "10.0.1.0", TOKEN) == "TOO_MANY_FAILED_LOGINS"
    # The owner, from a source that has not failed, with its key or its token.
    assert attempt(a, "192.0.2.7", TOKEN) == "ok"
    assert attempt(a, "192.0.2.8", SECRET, user=SK) == "ok"


def test_sources_are_addresses_and_ipv6_hosts_by_their_64() -> None:
    assert logins.grpc_source("ipv4:192.0.2.1:5050") == "192.0.2.1"
    assert logins.grpc_source("ipv6:[2001:db8:1:2:3:4:5:6]:5050") == "2001:db8:1:2::/64"
    assert logins.source_of("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert logins.source_of("::ffff:192.0.2.1") == "192.0.2.1"
    assert logins.source_of(None) == ""
    assert logins.grpc_source("unix:/tmp/socket") == "unix:/tmp/socket"


def test_every_failure_is_counted_by_face_and_reason() -> None:
    a = auth(ManualClock(), burst=100)
    before = {
        r: failures("rest", r) for r in ("missing", "malformed", "unknown_user", "wrong_secret")
    }
    logins.calling("rest", "198.51.100.1")
    for header in (None, "Bearer x", basic("AC" + "0" * 32, TOKEN), basic(AC, "wrong")):
        with pytest.raises(RollcallError):
            a.authenticate(header)
    after = {r: failures("rest", r) for r in before}
    assert {r: after[r] - before[r] for r in before} == dict.fromkeys(before, 1.0)


def test_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logins, "MAX_SOURCES", 5)
    clock = ManualClock()
    throttle = logins.LoginThrottle(clock, logins.Budget(3, 6.0), logins.Budget(3, 6.0))
    for n in range(20):
        throttle.failed(f"10.0.3.{n}", None)
    assert len(throttle._sources._buckets) == 5


def test_the_refusal_carries_a_retry_info() -> None:
    from service.core import errors

    status = to_status(errors.too_many_failed_logins(7))
    infos = [d for d in status.details if d.Is(error_details_pb2.RetryInfo.DESCRIPTOR)]
    assert len(infos) == 1
    info = error_details_pb2.RetryInfo()
    infos[0].Unpack(info)
    assert info.retry_delay.seconds == 7


def test_short_secrets_are_refused_naming_the_account_never_the_secret() -> None:
    with pytest.raises(ValueError, match=AC) as refused:
        check_secrets({AC: "hunter2"}, {}, allow_short=False)
    assert "hunter2" not in str(refused.value)
    with pytest.raises(ValueError, match=SK):
        check_secrets({AC: TOKEN}, {SK: ("tiny", AC)}, allow_short=False)
    check_secrets({AC: "short"}, {}, allow_short=True)  # for tests: logged, not refused
    check_secrets({AC: TOKEN}, {SK: (SECRET, AC)}, allow_short=False)


def test_a_caller_said_again_is_the_same_and_one_with_a_request_id_its_own() -> None:
    logins.calling("grpc", "10.0.0.1", peer="10.0.0.1", forwarded="x" * 600)
    first = logins.caller()
    logins.calling("grpc", "10.0.0.1", peer="10.0.0.1", forwarded="x" * 600)
    assert logins.caller() is first and first.forwarded == "x" * 512
    logins.calling("grpc", "10.0.0.1", peer="10.0.0.1", request_id="r1")
    assert logins.caller().request_id == "r1"
    logins.calling("rest", "10.0.0.1", peer="10.0.0.1")
    assert logins.caller().face == "rest"
