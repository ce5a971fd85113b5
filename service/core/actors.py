"""Who caused a change: the actor every event and audit record names.

Rule 1: a face says who acts (`acting`) once it has authenticated the caller,
        in the task that serves the call; a change reads it when it is
        decided (Changes), so each event it emits names it.
Rule 2: the carrier's reports act as the carrier; Rollcall's own work acts as
        Rollcall, naming the rule that fired (`RULES`).
Rule 3: an event a rule emits inside another actor's change (the conference
        an end-on-exit kick ends) is Rollcall's with that rule, and keeps the
        trigger's SID, face, addresses and request id, so it can be traced.
Rule 4: with no actor said (work no caller started), the actor is Rollcall.
Rule 5: an actor holds no secret: SIDs, addresses and request ids only.
Rule 6: a face may say who acts before knowing whether the call changes
        anything (`acting_deferred`): the actor is made once, when a change
        first asks, and reads (which never ask) do not pay for it.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import enum
from collections.abc import Callable, Iterator
from typing import Any


class ActorKind(enum.StrEnum):
    ACCOUNT = "account"
    API_KEY = "api-key"
    CARRIER = "carrier"
    ROLLCALL = "rollcall"


# The rules Rollcall itself fires (Rule 2). Timeouts and time limits are the
# carrier's to enforce: the call status it reports names them (no-answer).
END_ON_EXIT = "end-on-exit"
LAST_PARTICIPANT_LEFT = "last-participant-left"
RECOVERY = "recovery"
RETENTION = "retention"
ERASE = "erase"
RULES = (END_ON_EXIT, LAST_PARTICIPANT_LEFT, RECOVERY, RETENTION, ERASE)


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who, from where, through which face, in which request.

    sid: the account or API key SID (for a rule: the trigger's, if any);
    peer: the caller's address as the face saw it; forwarded_for: the
    client's address a trusted proxy forwarded (empty unless the proxy is
    trusted); face: grpc or rest (empty inside Rollcall).
    """

    kind: ActorKind = ActorKind.ROLLCALL
    sid: str = ""
    rule: str = ""
    face: str = ""
    peer: str = ""
    forwarded_for: str = ""
    request_id: str = ""

    def by_rule(self, rule: str) -> Actor:
        """This actor's change, carried on by one of Rollcall's rules (Rule 3)."""
        return dataclasses.replace(self, kind=ActorKind.ROLLCALL, rule=rule)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        text = {name: str(data.get(name) or "") for name in _FIELDS if name != "kind"}
        return cls(ActorKind(data.get("kind") or ActorKind.ROLLCALL), **text)


_FIELDS = tuple(f.name for f in dataclasses.fields(Actor))

ROLLCALL = Actor()
CARRIER = Actor(ActorKind.CARRIER)


class Deferred:
    """An actor made when first asked for, then always the same one (Rule 6)."""

    __slots__ = ("_actor", "_make")

    def __init__(self, make: Callable[[], Actor]) -> None:
        self._make: Callable[[], Actor] | None = make
        self._actor: Actor | None = None

    def actor(self) -> Actor:
        found = self._actor
        if found is None:
            assert self._make is not None
            found = self._actor = self._make()
            self._make = None
        return found


_ACTOR: contextvars.ContextVar[Actor | Deferred | None] = contextvars.ContextVar(
    "rollcall_actor", default=None
)


def acting(actor: Actor) -> None:
    """Say who acts for the rest of this task (a face, once authenticated)."""
    _ACTOR.set(actor)


def acting_deferred(make: Callable[[], Actor]) -> None:
    """Say who acts for the rest of this task, the actor made by `make` only
    when a change first asks (Rule 6); every asker gets the same one."""
    _ACTOR.set(Deferred(make))


def current() -> Actor:
    found = _ACTOR.get()
    if found is None:
        return ROLLCALL
    if type(found) is Deferred:
        return found.actor()
    assert isinstance(found, Actor)
    return found


def rule(name: str) -> Actor:
    """Rollcall itself, firing rule `name`."""
    return Actor(rule=name)


@contextlib.contextmanager
def as_actor(actor: Actor) -> Iterator[None]:
    """Act as `actor` within the block only."""
    token = _ACTOR.set(actor)
    try:
        yield
    finally:
        _ACTOR.reset(token)
