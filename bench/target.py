"""The Rollcall server under test: its settings, credentials and the data the figures use.

Rule 1: every benchmarked server runs with the ROLLCALL_* environment set here, and
        the reasons for it are printed with the results.
Rule 2: the bench account's fixtures are built before measuring, through the real
        gRPC and REST faces (nothing written behind the service's back): a
        conference of 50 connected participants to Fetch, one of 250 to List, one of
        10 to Watch, and sample responses of every kind, which the baselines answer
        with so that both sides send messages of the same size.
Rule 3: the carrier settings keep call-progress timers from adding writes while
        anything is measured.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import re
import time
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import grpc

from bench.proc import PYTHON, ServerProcess
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc

ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "bench" + "0" * 27
AUTHORIZATION = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
METADATA = (("authorization", AUTHORIZATION),)

SERVICE = "/rollcall.v1.ParticipantService/"
FROM = "+15005550006"
# Fixture participants are answered at once, so they are connected (and stay so
# for their 4-hour time limit) like the people in a live conference.
ANSWER_AT_ONCE = "+15550100000"
# Load-generated participants ring until their Timeout (600 s, the longest
# allowed) ends them as no-answer: the carrier's only writes during a run are
# the `initiated` and `ringing` steps each Create makes at once.
RING_LONG = "+15550100001"
CREATE_TIMEOUT = 600

BANNER = re.compile(r"gRPC on [0-9.]+:(\d+)(?:, REST on port (\d+))?")

SETTINGS = {
    "ROLLCALL_SIM_CALLS_PER_SECOND": "0",
    "ROLLCALL_SIM_RING_SECONDS": "3600",
    "ROLLCALL_SIM_OUTCOMES": f"{ANSWER_AT_ONCE}=answer:0",
    "ROLLCALL_LOG_LEVEL": "WARNING",
    "ROLLCALL_WATCHERS_PER_ACCOUNT": "5000",
    "ROLLCALL_GRACE_SECONDS": "1",
    # Metrics stay on, as in production, on a port of their own per server.
    "ROLLCALL_METRICS_LISTEN": "127.0.0.1:0",
}

SETTINGS_NOTE = (
    "Rollcall runs as `rollcall serve` (SQLite WAL, synchronous=FULL, simulated carrier) with"
    " ROLLCALL_SIM_CALLS_PER_SECOND=0 (no dial queue) and ROLLCALL_SIM_RING_SECONDS=3600 with"
    f" Timeout={CREATE_TIMEOUT} on every Create, so each Create writes its own transaction plus"
    " the carrier's immediate `initiated` and `ringing` steps and no later timer fires during"
    " the run; ROLLCALL_LOG_LEVEL=WARNING so per-RPC log lines do not dominate (INFO is"
    " measured once as its own figure); ROLLCALL_WATCHERS_PER_ACCOUNT=5000 so 1,000 watchers"
    " fit while the previous round's streams wind down; Prometheus metrics on (an ephemeral"
    " ROLLCALL_METRICS_LISTEN port). Each Create carries a unique"
    " request_id and a friendly-name parent; each load worker fills its own conferences up to"
    " 100 participants, then moves to a new one (Twilio's cap is 250)."
)


def rollcall_env(database: Path | str, *, http: bool, log_level: str = "WARNING") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLCALL_")}
    env.update(SETTINGS)
    env.update(
        {
            "ROLLCALL_DATABASE": str(database),
            "ROLLCALL_GRPC_LISTEN": "127.0.0.1:0",
            "ROLLCALL_HTTP_LISTEN": "127.0.0.1:0" if http else "",
            "ROLLCALL_METRICS_LISTEN": "",
            "ROLLCALL_ACCOUNTS": f"{ACCOUNT_SID}:{AUTH_TOKEN}",
            "ROLLCALL_DEMO_ACCOUNT_SID": ACCOUNT_SID,
            "ROLLCALL_DEMO_AUTH_TOKEN": AUTH_TOKEN,
            "ROLLCALL_LOG_LEVEL": log_level,
        }
    )
    return env


def rollcall_server(
    name: str,
    database: Path | str,
    *,
    cpus: Sequence[int],
    log_path: Path,
    http: bool = False,
    log_level: str = "WARNING",
    source: Path | None = None,
) -> ServerProcess:
    """`source`: run the Rollcall in that tree (a commit's files) instead of this one."""
    argv = [PYTHON, "-c", "from clients.cli import main; raise SystemExit(main())", "serve"]
    env = rollcall_env(database, http=http, log_level=log_level)
    if source is not None:
        env["PYTHONPATH"] = str(source)
    return ServerProcess(
        name,
        argv,
        BANNER,
        cpus=cpus,
        env=env,
        log_path=log_path,
        **({"cwd": source} if source is not None else {}),
    )


def create_request(parent: str, *, to: str = RING_LONG) -> pb.CreateParticipantRequest:
    return pb.CreateParticipantRequest(
        parent=parent,
        request_id=uuid.uuid4().hex,
        from_endpoint=FROM,
        to_endpoint=to,
        timeout=CREATE_TIMEOUT,
    )


def parent(conference: str) -> str:
    return f"accounts/{ACCOUNT_SID}/conferences/{conference}"


@dataclasses.dataclass
class Fixtures:
    """Serialized requests for the load generators and samples for the baselines."""

    fetch_requests: list[bytes]
    list_requests: list[bytes]
    watch_parent: str
    watch_participants: list[str]
    rest_fetch_path: str
    samples: dict[str, bytes]
    rest_samples: dict[str, Any]

    def save_samples(self, path: Path) -> Path:
        data = {
            "grpc": {k: base64.b64encode(v).decode() for k, v in self.samples.items()},
            "rest": self.rest_samples,
        }
        path.write_text(json.dumps(data))
        return path


def _populate(
    stub: pb_grpc.ParticipantServiceStub, conference: str, count: int
) -> list[pb.CreateParticipantResponse]:
    return [
        stub.CreateParticipant(create_request(conference, to=ANSWER_AT_ONCE), metadata=METADATA)
        for _ in range(count)
    ]


def _connected(stub: pb_grpc.ParticipantServiceStub, name: str) -> pb.FetchParticipantResponse:
    """Wait until the carrier has answered the participant (it does so at once)."""
    for _ in range(200):
        got: pb.FetchParticipantResponse = stub.FetchParticipant(
            pb.FetchParticipantRequest(name=name), metadata=METADATA
        )
        if got.participant.status == 4:  # PARTICIPANT_STATUS_CONNECTED
            return got
        time.sleep(0.01)
    raise RuntimeError(f"{name} was never answered")


def fetch_requests(stub: pb_grpc.ParticipantServiceStub, tag: str) -> list[bytes]:
    """Fifty connected participants of one conference, as FetchParticipant requests."""
    made = _populate(stub, parent(f"bench-fetch-{tag}"), 50)
    names = [m.participant.name for m in made]
    _connected(stub, names[-1])
    return [pb.FetchParticipantRequest(name=n).SerializeToString() for n in names]


@contextlib.contextmanager
def channel(target: str) -> Iterator[pb_grpc.ParticipantServiceStub]:
    with grpc.insecure_channel(target) as ch:
        yield pb_grpc.ParticipantServiceStub(ch)


def watch_fixture(stub: pb_grpc.ParticipantServiceStub, tag: str) -> tuple[str, list[str]]:
    """A conference of 10 connected participants to watch: its name and theirs."""
    watched = _populate(stub, parent(f"bench-watch-{tag}"), 10)
    last = _connected(stub, watched[-1].participant.name)
    return parent(last.participant.conference_sid), [m.participant.name for m in watched]


def build(target: str, http_port: int | None, tag: str) -> Fixtures:
    with channel(target) as stub:
        fetches = fetch_requests(stub, tag)
        fetch_sample = stub.FetchParticipant(
            pb.FetchParticipantRequest.FromString(fetches[0]), metadata=METADATA
        )

        listed = _populate(stub, parent(f"bench-list-{tag}"), 250)
        _connected(stub, listed[-1].participant.name)
        list_parent = parent(listed[0].participant.conference_sid)
        pages: list[bytes] = []
        token = ""
        first_page: pb.ListParticipantsResponse | None = None
        while True:
            request = pb.ListParticipantsRequest(parent=list_parent, page_size=50, page_token=token)
            page = stub.ListParticipants(request, metadata=METADATA)
            first_page = first_page or page
            pages.append(request.SerializeToString())
            token = page.next_page_token
            if not token:
                break
        if len(pages) != 5 or len(first_page.participants) != 50:
            raise RuntimeError(f"list fixture: {len(pages)} pages of 50 expected")

        watch_parent, names = watch_fixture(stub, tag)
        update = stub.UpdateParticipant(
            pb.UpdateParticipantRequest(name=names[0], muted=True), metadata=METADATA
        )
        revision = update.participant.revision
        stream = stub.WatchConference(
            pb.WatchConferenceRequest(parent=watch_parent, resume_after_revision=revision - 1),
            metadata=METADATA,
        )
        event = next(item for item in stream if item.HasField("event"))
        stream.cancel()
        created = stub.CreateParticipant(
            create_request(parent(f"bench-sample-{tag}")), metadata=METADATA
        )

    samples = {
        "fetch": fetch_sample.SerializeToString(),
        "list": first_page.SerializeToString(),
        "create": created.SerializeToString(),
        "update": update.SerializeToString(),
        "watch_event": event.SerializeToString(),
    }
    fetched = fetch_sample.participant
    rest_fetch_path = (
        f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{fetched.conference_sid}"
        f"/Participants/{fetched.call_sid}.json"
    )
    rest_samples: dict[str, Any] = {}
    if http_port is not None:
        base = f"http://127.0.0.1:{http_port}"
        rest_samples["create"] = _http(
            base + rest_create_path(f"bench-rest-sample-{tag}"), REST_CREATE_FORM.encode()
        )
        rest_samples["fetch"] = _http(base + rest_fetch_path, None)
    return Fixtures(
        fetch_requests=fetches,
        list_requests=pages,
        watch_parent=watch_parent,
        watch_participants=names,
        rest_fetch_path=rest_fetch_path,
        samples=samples,
        rest_samples=rest_samples,
    )


REST_CREATE_FORM = f"From=%2B{FROM[1:]}&To=%2B{RING_LONG[1:]}&Timeout={CREATE_TIMEOUT}"


def rest_create_path(conference: str) -> str:
    return f"/2010-04-01/Accounts/{ACCOUNT_SID}/Conferences/{conference}/Participants.json"


def _http(url: str, body: bytes | None) -> Any:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")  # noqa: S310
    request.add_header("Authorization", AUTHORIZATION)
    if body:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return json.loads(response.read())
