"""A conference's presence: who is connected, kept at commit.

Rule 1: each participant counts as "" (not connected), "present" or "agent"
        (connected, with the agent attribute of its conference's alert rules,
        `role=agent` by default); it remembers what it counts as.
Rule 2: Changes.emit calls `count` for every participant it records, so the
        conference's `present` and `agents` follow, and `empty_since` /
        `no_agent_since` are the change's time when the last one went (and
        None while any is there). A new conference is empty from its creation.
"""

from __future__ import annotations

import functools

from service.core import attributes
from service.core.records import AlertRules, Conference, Participant
from service.core.statuses import ParticipantStatus


def agent_filter(rules: AlertRules | None) -> attributes.Filter:
    text = rules.agent_attribute if rules is not None else AlertRules().agent_attribute
    return _parsed(text)


@functools.lru_cache(maxsize=256)
def _parsed(text: str) -> attributes.Filter:
    return attributes.parse_filter([text]) if text else ()


def count(conf: Conference, p: Participant, now: float) -> None:
    """Rule 2: p's part in its conference's presence, brought up to date."""
    role = ""
    if p.status is ParticipantStatus.CONNECTED:
        agent = agent_filter(conf.alerts)
        role = "agent" if agent and attributes.matches(p.attributes, agent) else "present"
    before = p.presence
    if role == before:
        return
    p.presence = role
    conf.present += bool(role) - bool(before)
    conf.agents += (role == "agent") - (before == "agent")
    conf.empty_since = None if conf.present > 0 else (conf.empty_since or now)
    conf.no_agent_since = None if conf.agents > 0 else (conf.no_agent_since or now)
