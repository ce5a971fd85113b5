"""The callback destination policy: which addresses a callback URL may reach."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.core.errors import RollcallError
from service.webhooks.destinations import (
    DestinationPolicy,
    check_request,
    literal_host_refused,
    parse_networks,
    url_fields,
)

CLUSTER = DestinationPolicy.from_specs(
    "", "0.0.0.0/8,127.0.0.0/8,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,::1/128"
)


def test_open_by_default() -> None:
    policy = DestinationPolicy()
    assert policy.open
    assert policy.permits("127.0.0.1")
    assert policy.permits("169.254.169.254")


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.20.0.1", "192.168.1.1", "169.254.169.254", "::1", "0.0.0.0"],  # noqa: S104
)
def test_denied_networks_are_refused(address: str) -> None:
    assert not CLUSTER.permits(address)


def test_ipv4_mapped_ipv6_is_judged_as_its_ipv4() -> None:
    assert not CLUSTER.permits("::ffff:127.0.0.1")
    assert not CLUSTER.permits("::ffff:a9fe:a9fe")  # 169.254.169.254
    assert CLUSTER.permits("::ffff:8.8.8.8")


def test_addresses_outside_the_deny_list_are_allowed() -> None:
    assert CLUSTER.permits("8.8.8.8")
    assert CLUSTER.permits("2001:db8::1")


def test_the_most_specific_network_decides() -> None:
    policy = DestinationPolicy.from_specs("10.1.2.3/32", "10.0.0.0/8")
    assert policy.permits("10.1.2.3")
    assert not policy.permits("10.1.2.4")
    # A tie goes to the deny-list.
    assert not DestinationPolicy.from_specs("10.0.0.0/8", "10.0.0.0/8").permits("10.0.0.1")


def test_with_an_allow_list_unlisted_addresses_are_refused() -> None:
    policy = DestinationPolicy.from_specs("203.0.113.0/24", "")
    assert policy.permits("203.0.113.9")
    assert not policy.permits("8.8.8.8")
    assert not policy.permits("2001:db8::1")


def test_bad_networks_are_refused_at_start() -> None:
    with pytest.raises(ValueError, match="bad network"):
        parse_networks("10.0.0.0/8,not-a-network")
    assert parse_networks(" 192.0.2.7 , ") == parse_networks("192.0.2.7/32")


def test_literal_hosts_are_checked_before_any_connection() -> None:
    assert literal_host_refused(CLUSTER, "127.0.0.1")
    assert literal_host_refused(CLUSTER, "::ffff:127.0.0.1")
    assert not literal_host_refused(CLUSTER, "8.8.8.8")
    assert not literal_host_refused(CLUSTER, "example.com")  # names go through the resolver
    assert not literal_host_refused(DestinationPolicy(), "127.0.0.1")


def test_every_url_field_of_both_requests_is_checked() -> None:
    assert set(url_fields(pb.CreateParticipantRequest())) == {
        "status_callback",
        "wait_url",
        "conference_status_callback",
        "recording_status_callback",
        "conference_recording_status_callback",
        "amd_status_callback",
        "client_notification_url",
    }
    assert set(url_fields(pb.UpdateParticipantRequest())) == {
        "hold_url",
        "announce_url",
        "wait_url",
    }


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/cb",
        "http://localhost/cb",
        "https://user:pw@127.0.0.1/cb",
        "http://[::1]/cb",
        "http://[::ffff:127.0.0.1]/cb",
        "http://0x7f.1/cb",  # inet_aton forms resolve to loopback
        "http://2130706433/cb",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
async def test_urls_reaching_denied_networks_are_invalid(url: str) -> None:
    request = pb.CreateParticipantRequest(status_callback=url, wait_url="http://8.8.8.8/")
    with pytest.raises(RollcallError) as caught:
        await check_request(CLUSTER, request)
    [violation] = caught.value.violations
    assert violation.field == "status_callback"
    assert violation.twilio_code == 21205
    assert caught.value.http_status == 400


@pytest.mark.parametrize(
    "url", ["http://8.8.8.8/cb", "http://[2001:db8::1]/cb", "http://rollcall-test.invalid/cb", ""]
)
async def test_public_or_unresolvable_urls_are_accepted(url: str) -> None:
    await check_request(CLUSTER, pb.UpdateParticipantRequest(hold_url=url))


def test_the_documented_cluster_deny_list_covers_internal_ranges() -> None:
    security = (Path(__file__).parents[3] / "docs" / "security.md").read_text()
    [line] = [x for x in security.splitlines() if x.startswith("ROLLCALL_CALLBACK_DENY_NETWORKS=")]
    policy = DestinationPolicy.from_specs("", line.partition("=")[2])
    for internal in (
        "127.0.0.1",
        "10.0.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",  # cloud metadata
        "100.100.100.200",  # another cloud's metadata, in shared address space
        "168.63.129.16",
        "0.0.0.0",  # noqa: S104
        "::1",
        "::",
        "fd00:ec2::254",
        "fe80::1",
        "::ffff:10.0.0.1",
        "64:ff9b::a00:1",
    ):
        assert not policy.permits(internal), internal
    for public in ("8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"):
        assert policy.permits(public), public
