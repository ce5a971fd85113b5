"""Every face measured: /metrics of a real server after REST and gRPC traffic.

REST requests are counted by route template, method and status; unary RPCs
and streams are timed in separate histograms; the process, platform and
garbage collector figures and `rollcall_build_info` are there; no counter has
a `_created` series; `promtool check metrics` finds nothing to fix.
"""

from __future__ import annotations

import aiohttp
import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from rollcall.v1 import participant_service_pb2 as pb
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, Harness, basic
from tests.e2e.helpers import create
from tests.observability import live_metrics, promtool
from tests.poll import eventually

CREATE = "/rollcall.v1.ParticipantService/CreateParticipant"
WATCH = "/rollcall.v1.ParticipantService/WatchConference"
COLLECTION = "/2010-04-01/Accounts/{account}/Conferences/{conference}/Participants{suffix}"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


class Delta:
    """How much each series grew since `before` (the registry is the process's,
    shared by every test in it)."""

    def __init__(self, before: str, after: str) -> None:
        self.before, self.after = before, after

    def __call__(self, name: str, **labels: str) -> float:
        return value(self.after, name, **labels) - value(self.before, name, **labels)


async def test_every_face_is_counted_and_timed_apart(harness: Harness) -> None:
    port = harness.app.metrics_port
    before = await live_metrics(port)
    twilio = f"{harness.http_base}/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences"
    headers = {"Authorization": basic(ACCOUNT_SID, AUTH_TOKEN)}
    async with aiohttp.ClientSession(headers=headers) as session:
        form = {"From": "+15005550006", "To": "+15551234567"}
        async with session.post(f"{twilio}/room/Participants.json", data=form) as answer:
            assert answer.status == 201
        async with session.get(f"{twilio}/room/Participants/CAnone.json") as answer:
            assert answer.status == 404
        async with session.get(f"{harness.http_base}/no/such/path") as answer:
            assert answer.status == 404
        # A method a client makes up never becomes a label value.
        async with session.request("BREW", f"{twilio}/room/Participants.json") as answer:
            assert answer.status >= 400
    created = await create(harness, "hall")
    # A watch stream, opened, sent its first message, then cancelled.
    stream = harness.stub.WatchConference(
        pb.WatchConferenceRequest(parent=harness.parent(created.participant.conference_sid)),
        metadata=harness.md(),
    )
    await stream.read()
    stream.cancel()

    async def stream_ended() -> bool:
        # The server learns of the cancellation on a later turn of its loop.
        delta = Delta(before, await live_metrics(port))
        return delta("rollcall_stream_duration_seconds_count", method=WATCH) == 1

    await eventually(stream_ended, "the cancelled watch counted")
    text = await live_metrics(port)
    grew = Delta(before, text)

    route = (
        "/2010-04-01/Accounts/{account}/Conferences/{conference}/Participants/{participant}{suffix}"
    )
    rest = "rollcall_http_requests_total"
    assert grew(rest, route=COLLECTION, method="POST", status="201") == 1
    assert grew(rest, route=route, method="GET", status="404") == 1
    assert grew(rest, route="unmatched", method="GET", status="404") == 1
    timed = "rollcall_http_request_duration_seconds_count"
    assert grew(timed, route=COLLECTION, method="POST") == 1
    # No SID in any label, whatever the face, nor a made-up method.
    for (_, labels), _value in samples(text).items():
        assert all(ACCOUNT_SID not in v and "CAnone" not in v and v != "BREW" for _, v in labels)

    assert grew("rollcall_rpcs_started_total", method=CREATE) == 1
    assert grew("rollcall_rpcs_total", method=CREATE, code="OK") == 1
    assert grew("rollcall_rpc_duration_seconds_count", method=CREATE) == 1
    assert grew("rollcall_rpcs_total", method=WATCH, code="CANCELLED") == 1
    assert grew("rollcall_stream_duration_seconds_count", method=WATCH) == 1
    assert grew("rollcall_stream_messages_sent_total", method=WATCH) >= 1
    # A stream never lands in the unary histogram, nor a unary call in the streams'.
    assert grew("rollcall_rpc_duration_seconds_count", method=WATCH) == 0
    assert grew("rollcall_stream_duration_seconds_count", method=CREATE) == 0
    # The unary buckets resolve milliseconds; the stream buckets reach a day.
    buckets = {
        labels_le
        for (name, labels), _ in samples(text).items()
        if name == "rollcall_stream_duration_seconds_bucket"
        for key, labels_le in labels
        if key == "le"
    }
    assert "86400.0" in buckets


async def test_process_figures_build_info_and_no_created_series(harness: Harness) -> None:
    text = await live_metrics(harness.app.metrics_port)
    names = {name for name, _ in samples(text)}
    for expected in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "python_gc_collections_total",
        "python_info",
    ):
        assert expected in names
    build = [labels for name, labels in samples(text) if name == "rollcall_build_info"]
    assert len(build) == 1 and dict(build[0])["version"]
    assert "_created" not in text


async def test_promtool_finds_nothing_to_fix(harness: Harness) -> None:
    await create(harness, "room")
    with pytest.raises(grpc.aio.AioRpcError):
        await harness.stub.FetchParticipant(
            pb.FetchParticipantRequest(name=harness.name("room", "CAnobody")),
            metadata=harness.md(),
        )
    text = await live_metrics(harness.app.metrics_port)
    result = promtool("check", "metrics", stdin=text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "" and result.stderr.strip() == ""
