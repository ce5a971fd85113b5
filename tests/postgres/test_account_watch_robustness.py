"""The floor through crashes: account-wide watchers on two PostgreSQL replicas
(real `rollcall serve` processes), one of them SIGKILLed and started again
twice, while 50 conferences change under random creates, updates and deletes.

Twenty watchers, half gRPC WatchAccount (Basic credentials, an API key or a
watch token) and half Server-Sent Events (a watch token minted on either
replica), are cut at random and resume from their last cursor or
Last-Event-ID on either replica. Another account writes meanwhile.

What must hold: every watcher's folded state equals the Lists at the end; in
every conference each watcher received the revisions from its snapshot (or
from 1) on with no gap, duplicate or reorder, and nothing after the
conference's end; nothing of the other account reached any watcher; no call
ended INTERNAL or UNKNOWN. A watch token opens nothing of another account, and
a forged one is refused, typed, on both faces of both replicas.

The randomness is seeded: the seed is printed, and ROLLCALL_TEST_SEED replays
it (as far as the interleaving of processes allows).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import random
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from rollcall.v1 import participant_service_pb2 as pb
from service.gateway.status import from_rpc_error
from tests.conftest import ACCOUNT_SID, KEY_SECRET, KEY_SID, OTHER_SID, OTHER_TOKEN, basic
from tests.poll import eventually
from tests.postgres.floor_watchers import (
    MD,
    Cluster,
    Watcher,
    differences,
    grpc_watcher,
    listed_floor,
    sse_watcher,
)

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONFERENCES = 50
WATCHERS = 20
WRITERS = 4
OPERATIONS = 240  # random writes after the first participant of each conference
KILLS = 2
# Writes acknowledged while the killed replica is down.
WHILE_DOWN = 15
OTHER_MD = (("authorization", basic(OTHER_SID, OTHER_TOKEN)),)
WAIT = 30.0


class Writes:
    """The writers' shared book: who is in which conference, what calls answered."""

    def __init__(self) -> None:
        self.done = 0
        self.codes: collections.Counter[str] = collections.Counter()
        # (conference SID, call SID) of participants believed active.
        self.members: list[tuple[str, str]] = []
        self.other_conferences: set[str] = set()
        self._reached: list[tuple[int, asyncio.Event]] = []

    def count(self) -> None:
        self.done += 1
        for target, event in self._reached:
            if self.done >= target:
                event.set()

    async def reach(self, target: int) -> None:
        event = asyncio.Event()
        self._reached.append((target, event))
        if self.done >= target:
            event.set()
        await asyncio.wait_for(event.wait(), WAIT)

    def failed(self, error: grpc.aio.AioRpcError) -> None:
        code = error.code()
        reason = ""
        if code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
            reason = from_rpc_error(error).reason
        self.codes[f"{code.name} {reason}".strip()] += 1


def _to(rng: random.Random) -> str:
    return f"+1555{rng.randrange(10**7):07d}"


async def _create(cluster: Cluster, writes: Writes, rng: random.Random, name: str) -> None:
    replica = rng.choice(cluster.live())
    try:
        made = await cluster.stub(replica).CreateParticipant(
            pb.CreateParticipantRequest(
                parent=f"accounts/{ACCOUNT_SID}/conferences/{name}",
                from_endpoint="+15005550006",
                to_endpoint=_to(rng),
                label=f"p{rng.randrange(10**6)}",
            ),
            metadata=MD,
            timeout=WAIT,
        )
    except grpc.aio.AioRpcError as error:
        writes.failed(error)
        return
    p = made.participant
    writes.members.append((p.conference_sid, p.call_sid))


async def _change(cluster: Cluster, writes: Writes, rng: random.Random, delete: bool) -> None:
    if not writes.members:
        return
    conference_sid, call_sid = rng.choice(writes.members)
    name = f"accounts/{ACCOUNT_SID}/conferences/{conference_sid}/participants/{call_sid}"
    stub = cluster.stub(rng.choice(cluster.live()))
    try:
        if delete:
            await stub.DeleteParticipant(
                pb.DeleteParticipantRequest(name=name), metadata=MD, timeout=WAIT
            )
        elif rng.random() < 0.5:
            await stub.UpdateParticipant(
                pb.UpdateParticipantRequest(name=name, muted=rng.random() < 0.5),
                metadata=MD,
                timeout=WAIT,
            )
        else:
            await stub.UpdateParticipant(
                pb.UpdateParticipantRequest(name=name, hold=rng.random() < 0.5),
                metadata=MD,
                timeout=WAIT,
            )
    except grpc.aio.AioRpcError as error:
        writes.failed(error)
        if error.code() != grpc.StatusCode.NOT_FOUND:
            return
        delete = True  # gone already (its conference ended)
    if delete:
        with contextlib.suppress(ValueError):
            writes.members.remove((conference_sid, call_sid))


async def _writer(cluster: Cluster, writes: Writes, rng: random.Random, operations: int) -> None:
    for _ in range(operations):
        roll = rng.random()
        if roll < 0.3:
            await _create(cluster, writes, rng, f"floor-{rng.randrange(CONFERENCES):02d}")
        else:
            await _change(cluster, writes, rng, delete=roll > 0.8)
        writes.count()


async def _other_account(cluster: Cluster, writes: Writes, rng: random.Random) -> None:
    """Another account's floor changing meanwhile: none of it may reach a watcher."""
    for n in range(12):
        stub = cluster.stub(rng.choice(cluster.live()))
        try:
            made = await stub.CreateParticipant(
                pb.CreateParticipantRequest(
                    parent=f"accounts/{OTHER_SID}/conferences/other-{n % 4}",
                    from_endpoint="+15005550006",
                    to_endpoint=_to(rng),
                    label=f"o{n}",
                ),
                metadata=OTHER_MD,
                timeout=WAIT,
            )
            writes.other_conferences.add(made.participant.conference_sid)
            await stub.UpdateParticipant(
                pb.UpdateParticipantRequest(name=made.participant.name, muted=True),
                metadata=OTHER_MD,
                timeout=WAIT,
            )
        except grpc.aio.AioRpcError as error:
            writes.failed(error)


async def _mint(http: aiohttp.ClientSession, cluster: Cluster, replica: int) -> str:
    port = cluster.servers[replica].http_port
    url = f"http://127.0.0.1:{port}/rollcall/v1/accounts/{ACCOUNT_SID}/watch-tokens"
    async with http.post(url, headers={"Authorization": MD[0][1]}) as response:
        assert response.status == 201, await response.text()
        return str((await response.json())["token"])


async def _tokens_stay_in_their_account(
    http: aiohttp.ClientSession, cluster: Cluster, token: str
) -> None:
    """On each replica: account A's token opens nothing of B, and a forged one
    nothing at all, with typed refusals on both faces."""
    forged = token[:-3] + ("A" if token[-3] != "A" else "B") + token[-2:]
    for replica in cluster.live():
        stub = cluster.stub(replica)
        for parent, bearer, code, reason in (
            (f"accounts/{OTHER_SID}", token, grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
            (f"accounts/{ACCOUNT_SID}", forged, grpc.StatusCode.UNAUTHENTICATED,
             "WATCH_TOKEN_INVALID"),
        ):  # fmt: skip
            call = stub.WatchAccount(
                pb.WatchAccountRequest(parent=parent),
                metadata=(("authorization", f"Bearer {bearer}"),),
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await asyncio.wait_for(call.read(), WAIT)
            assert refused.value.code() == code
            assert from_rpc_error(refused.value).reason == reason
        base = f"http://127.0.0.1:{cluster.servers[replica].http_port}/rollcall/v1/accounts"
        for account, bearer, status, why in (
            (OTHER_SID, token, 404, None),
            (ACCOUNT_SID, forged, 401, "WATCH_TOKEN_INVALID"),
        ):
            async with http.get(
                f"{base}/{account}/events", params={"access_token": bearer}
            ) as response:
                assert response.status == status, await response.text()
                body = await response.json()
                assert body["status"] == status
                if why is not None:
                    assert body["reason"] == why


def _metadata(n: int, token: str) -> Any:
    """The gRPC watchers' credentials: a watch token, the account's, an API key."""
    if n % 3 == 0:
        return (("authorization", f"Bearer {token}"),)
    if n % 3 == 1:
        return MD
    return (("authorization", basic(KEY_SID, KEY_SECRET)),)


async def test_account_watchers_through_kills_and_random_cuts(tmp_path: Path) -> None:
    seed = int(os.environ.get("ROLLCALL_TEST_SEED") or random.SystemRandom().randrange(2**32))
    print(f"ROLLCALL_TEST_SEED={seed}")
    rng = random.Random(seed)
    cluster = Cluster(tmp_path)
    writes = Writes()
    settle = asyncio.Event()
    async with cluster.running(), aiohttp.ClientSession() as http:
        await asyncio.gather(
            *(_create(cluster, writes, rng, f"floor-{n:02d}") for n in range(CONFERENCES))
        )
        token = await _mint(http, cluster, 0)
        grpc_token = (
            await cluster.stub(1).CreateWatchToken(
                pb.CreateWatchTokenRequest(parent=f"accounts/{ACCOUNT_SID}"), metadata=MD
            )
        ).token
        watchers = [
            Watcher(n, "grpc" if n % 2 == 0 else "sse", random.Random(rng.random()))
            for n in range(WATCHERS)
        ]
        tasks = [
            asyncio.create_task(
                grpc_watcher(cluster, w, _metadata(w.number // 2, grpc_token), settle)
                if w.kind == "grpc"
                else sse_watcher(cluster, w, http, token, settle)
            )
            for w in watchers
        ]
        try:
            await eventually(lambda: all(w.ready for w in watchers), "every snapshot", WAIT)
            each = OPERATIONS // WRITERS
            writers = [
                asyncio.create_task(_writer(cluster, writes, random.Random(rng.random()), each))
                for _ in range(WRITERS)
            ]
            writers.append(
                asyncio.create_task(_other_account(cluster, writes, random.Random(rng.random())))
            )
            for kill in range(KILLS):
                await writes.reach(OPERATIONS * (kill + 1) // (KILLS + 1))
                await cluster.kill(0)
                await writes.reach(writes.done + WHILE_DOWN)
                await cluster.start(0)
            await asyncio.gather(*writers)
            await eventually(
                lambda: any(w.resumes[(0, KILLS + 1)] for w in watchers),
                "a watcher resumes on the killed replica's last incarnation",
                WAIT,
            )
            await _tokens_stay_in_their_account(http, cluster, token)
            settle.set()  # no more cuts: every watcher reads on until the end

            async def caught_up() -> bool:
                floor, revisions = await listed_floor(cluster, rng.choice(cluster.live()))
                return all(not any(differences(w, floor, revisions)) for w in watchers)

            try:
                await eventually(caught_up, "every watcher's state equals the Lists", WAIT)
            except AssertionError:
                floor, revisions = await listed_floor(cluster, 1)
                lagging = {w.number: list(differences(w, floor, revisions))[:5] for w in watchers}
                raise AssertionError(
                    f"seed {seed}: watchers differ from the Lists: {lagging}"
                ) from None
        finally:
            for task in tasks:
                task.cancel()
            _, running = await asyncio.wait(tasks, timeout=WAIT)
            assert not running, "watchers that did not stop when cancelled"

    report = {
        w.number: (w.kind, w.events, sum(w.resumes.values()), dict(w.errors)) for w in watchers
    }
    print(f"writes: {dict(writes.codes)}; watchers (kind, events, resumes, errors): {report}")
    assert cluster.incarnation == [KILLS + 1, 1]
    for w in watchers:
        assert not w.violations, f"seed {seed}: watcher {w.number} ({w.kind}): {w.violations[:10]}"
        # A watcher never sees the other account (Rule 1 of floor_watchers).
        assert not (set(w.last) & writes.other_conferences)
        assert sum(w.resumes.values()) >= 2, (w.number, w.resumes)
        unexpected = {
            e: n for e, n in w.errors.items() if e not in ("UNAVAILABLE", "EOFError")
            and not e.startswith(("ClientPayloadError", "ServerDisconnectedError",
                                  "ClientConnectorError", "ClientOSError"))
        }  # fmt: skip
        assert not unexpected, (seed, w.number, unexpected)
    resumed_on = {replica for w in watchers for replica, _ in w.resumes}
    assert resumed_on == {0, 1}
    bad = {c: n for c, n in writes.codes.items() if c.startswith(("INTERNAL", "UNKNOWN"))}
    assert not bad, f"seed {seed}: {bad}"
    assert writes.other_conferences
    assert sum(w.events for w in watchers) > 0
