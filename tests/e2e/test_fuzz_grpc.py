"""Hypothesis fuzzing of the gRPC face against a real server process.

Random and mutated messages, random bytes through a raw channel, crafted
page tokens, hostile authorization bytes and abandoned calls. Every answer is
OK or a typed error (never INTERNAL or UNKNOWN, always our ErrorInfo); a
failed request changes nothing; and the server's log (its whole stderr) holds
no traceback and no credential. Example counts are bounded to keep the whole
module to about 20 seconds.
"""

from __future__ import annotations

import base64
import itertools
import json
import time
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import FieldDescriptor
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rollcall.v1 import participant_pb2 as pb_participant
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.rpc import limits
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, basic
from tests.e2e.hostile import LoggedServer, assert_clean_log, assert_typed, h2_call

pytestmark = pytest.mark.slow

SERVICE = "/rollcall.v1.ParticipantService/"
MD = (("authorization", basic(ACCOUNT_SID, AUTH_TOKEN)),)
FUZZ = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    database=None,
)
_names = itertools.count()


class Target:
    def __init__(self, server: LoggedServer) -> None:
        self.server = server
        self.channel = grpc.insecure_channel(server.target)
        self.stub = pb_grpc.ParticipantServiceStub(self.channel)

    def parent(self, conference: str) -> str:
        return f"accounts/{ACCOUNT_SID}/conferences/{conference}"

    def canary(self) -> tuple[str, pb_participant.Participant]:
        """A fresh conference with one participant that stays ringing."""
        friendly = f"fuzz-{next(_names)}"
        p = self.stub.CreateParticipant(
            pb.CreateParticipantRequest(
                parent=self.parent(friendly),
                from_endpoint="+15005550006",
                to_endpoint="+15551230000",
                timeout=600,
                label="canary",
            ),
            metadata=MD,
            timeout=10,
        ).participant
        name = f"{self.parent(p.conference_sid)}/participants/{p.call_sid}"
        deadline = time.monotonic() + 10
        while p.status != pb_participant.PARTICIPANT_STATUS_RINGING:  # the carrier's last step
            assert time.monotonic() < deadline, p
            time.sleep(0.002)
            p = self.stub.FetchParticipant(
                pb.FetchParticipantRequest(name=name), metadata=MD, timeout=10
            ).participant
        return p.conference_sid, p

    def state(self, conference_sid: str) -> Any:
        page = self.stub.ListParticipants(
            pb.ListParticipantsRequest(parent=self.parent(conference_sid), include_ended=True),
            metadata=MD,
            timeout=10,
        )
        return page.revision, [p.SerializeToString(deterministic=True) for p in page.participants]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server = LoggedServer(
        tmp_path_factory.mktemp("fuzz"),
        # Calls ring (nothing changes by itself) for the whole run.
        ROLLCALL_SIM_RING_SECONDS="100000",
        # Hostile credentials by the hundred from one address: the throttle
        # (tests/e2e/test_failed_logins.py) would refuse every later call.
        ROLLCALL_LOGIN_FAILURE_BURST="0",
        ROLLCALL_ACCOUNT_LOGIN_FAILURE_BURST="0",
    )
    server.start()
    t = Target(server)
    try:
        yield t
    finally:
        t.channel.close()
        log = server.stop()
    assert_clean_log(log)


@pytest.fixture(autouse=True)
def clean_log(target: Target) -> Iterator[None]:
    yield
    assert_clean_log(target.server.log())


# -- strategies ----------------------------------------------------------------

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
_STRINGS = st.one_of(
    _TEXT,
    st.sampled_from(
        [
            "",
            "+15551230001",
            "+15005550001",
            "client:alice",
            "sip:bob@example.com",
            "https://example.com/cb",
            "http://user:pass@example.com/x",
            "CA" + "0" * 32,
            "BY" + "1" * 32,
            "a/b",
            "\x00",
            "é" * 3,
        ]
    ),
    st.integers(0, 6000).map(lambda n: "x" * n),
)


def _field(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        assert field.message_type is not None
        if field.message_type.GetOptions().map_entry:  # attributes
            return st.dictionaries(_STRINGS, _STRINGS, max_size=20)
        # A nested message (the conference's alerts): its own scalar fields.
        inner = [f for f in field.message_type.fields if f.type != FieldDescriptor.TYPE_MESSAGE]
        return st.fixed_dictionaries({}, optional={f.name: _field(f) for f in inner})
    if field.type == FieldDescriptor.TYPE_STRING:
        one: st.SearchStrategy[Any] = _STRINGS
    elif field.type == FieldDescriptor.TYPE_BOOL:
        one = st.booleans()
    elif field.type == FieldDescriptor.TYPE_ENUM:
        one = st.integers(-3, 40)
    else:
        one = st.one_of(st.integers(-(2**31), 2**31 - 1), st.integers(-5, 700))
    return st.lists(one, max_size=70) if field.is_repeated else one


def _message(kind: Any, skip: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    fields = [f for f in kind.DESCRIPTOR.fields if f.name not in skip]
    return st.fixed_dictionaries({}, optional={f.name: _field(f) for f in fields})


def _build(kind: Any, values: dict[str, Any], **fixed: Any) -> Any:
    message = kind(**fixed)
    for name, value in values.items():
        if isinstance(value, dict):
            held = getattr(message, name)
            if kind.DESCRIPTOR.fields_by_name[name].message_type.GetOptions().map_entry:
                held.update(value)
            else:
                held.CopyFrom(_build(type(held), value))
        elif isinstance(value, list):
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)
    return message


def _call(call: Any, *args: Any, **kwargs: Any) -> grpc.RpcError | None:
    try:
        call(*args, metadata=MD, timeout=10, **kwargs)
    except grpc.RpcError as error:
        assert_typed(error)
        return error
    return None


# -- the fuzzers ---------------------------------------------------------------


@FUZZ
@given(
    create=_message(pb.CreateParticipantRequest, ("parent",)),
    update=_message(pb.UpdateParticipantRequest, ("name",)),
)
def test_random_create_and_update_messages(
    target: Target, create: dict[str, Any], update: dict[str, Any]
) -> None:
    conference, canary = target.canary()
    before = target.state(conference)
    request = _build(pb.CreateParticipantRequest, create, parent=target.parent(conference))
    if _call(target.stub.CreateParticipant, request) is not None:
        assert target.state(conference) == before
    else:  # accepted: then every field was within its documented maximum
        assert not limits.violations(request)
    before = target.state(conference)
    name = f"{target.parent(conference)}/participants/{canary.call_sid}"
    if _call(target.stub.UpdateParticipant, _build(pb.UpdateParticipantRequest, update, name=name)):
        assert target.state(conference) == before


def _valid_bytes() -> list[bytes]:
    parent = f"accounts/{ACCOUNT_SID}/conferences/fuzz-bytes"
    return [
        pb.CreateParticipantRequest(
            parent=parent, from_endpoint="+15005550006", to_endpoint="+15551230001", label="l"
        ).SerializeToString(),
        pb.ListParticipantsRequest(parent=parent, page_size=2).SerializeToString(),
        pb.UpdateParticipantRequest(
            name=parent + "/participants/l", muted=True
        ).SerializeToString(),
        pb.FetchParticipantRequest(name=parent + "/participants/l").SerializeToString(),
    ]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_valid_bytes())))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        op = draw(st.sampled_from(["flip", "cut", "insert", "varint"]))
        if op == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif op == "cut":
            del data[at:]
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        else:
            data[at:at] = b"\xff" * draw(st.integers(1, 11))
    return bytes(data)


@FUZZ
@given(
    method=st.sampled_from(
        [
            "CreateParticipant",
            "FetchParticipant",
            "ListParticipants",
            "UpdateParticipant",
            "DeleteParticipant",
            "WatchConference",
        ]
    ),
    data=st.one_of(st.binary(max_size=300), _mutated()),
)
def test_random_and_mutated_bytes(target: Target, method: str, data: bytes) -> None:
    conference, _ = target.canary()
    before = target.state(conference)
    try:
        if method == "WatchConference":
            stream = target.channel.unary_stream(SERVICE + method)(data, metadata=MD, timeout=10)
            next(iter(stream), None)
            stream.cancel()
        else:
            target.channel.unary_unary(SERVICE + method)(data, metadata=MD, timeout=10)
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.CANCELLED:
            assert_typed(error)
    assert target.state(conference) == before  # random bytes never name the canary


_JSON = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=True),
        st.text(max_size=5),
        st.just(10**400),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


def _pt(raw: bytes) -> str:
    return "PT" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


@FUZZ
@given(
    token=st.one_of(
        st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=80),
        _JSON.map(lambda v: _pt(json.dumps(v).encode())),
        st.integers(1, 3000).map(lambda n: _pt(b"[" * n + b"]" * n)),
        st.binary(min_size=1, max_size=60).map(_pt),
        st.builds(lambda s: _pt(json.dumps({"d": "a", "s": s}).encode()), st.integers()),
    )
)
def test_crafted_page_tokens(target: Target, token: str) -> None:
    error = _call(
        target.stub.ListParticipants,
        pb.ListParticipantsRequest(parent=target.parent("fuzz-tokens"), page_token=token),
    )
    assert error is not None
    assert error.code() in (
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,  # (no such conference: checked before the token)
    )


@settings(FUZZ, max_examples=40)
@given(
    suffix=st.binary(min_size=1, max_size=40), prefix=st.sampled_from([b"", b"Basic ", b"basic  "])
)
def test_hostile_authorization_bytes(target: Target, prefix: bytes, suffix: bytes) -> None:
    """Real credentials followed by arbitrary bytes: refused, typed, never logged."""
    credential = basic(ACCOUNT_SID, AUTH_TOKEN).encode()[6:]
    value = prefix + credential + suffix
    answer = h2_call(
        target.server.port, (SERVICE + "FetchParticipant").encode(), [(b"authorization", value)]
    )
    assert answer.get(b"grpc-status") not in (b"2", b"13"), answer


def test_abandoned_calls_leave_no_trace(target: Target) -> None:
    """Calls the client gives up on mid-flight (deadline, cancel) log nothing
    alarming. (Reads and watches: a Create abandoned mid-commit is the write
    path's own concern, tested with it.)"""
    conference, canary = target.canary()
    parent = target.parent(conference)
    before = target.state(conference)
    name = f"{parent}/participants/{canary.call_sid}"
    for n in range(20):
        calls = (
            target.stub.FetchParticipant.future(
                pb.FetchParticipantRequest(name=name), metadata=MD, timeout=0.001 if n % 2 else 10
            ),
            target.stub.ListParticipants.future(
                pb.ListParticipantsRequest(parent=parent),
                metadata=MD,
                timeout=0.001 if n % 2 else 10,
            ),
        )
        if not n % 2:
            for call in calls:
                call.cancel()
        stream = target.stub.WatchConference(
            pb.WatchConferenceRequest(parent=parent), metadata=MD, timeout=10
        )
        next(iter(stream))
        stream.cancel()
    assert target.state(conference) == before  # and the server still answers
