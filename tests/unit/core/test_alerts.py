"""service.core.alerts and service.core.presence: what is due, once per crossing."""

from __future__ import annotations

from service.core import alerts, presence
from service.core.records import AlertKind, AlertRules, Conference, Participant
from service.core.statuses import CallStatus, ConferenceStatus, ParticipantStatus


def conference(rules: AlertRules | None) -> Conference:
    return Conference(
        "CF1", "AC1", "room", ConferenceStatus.INIT, 0, 250, 100.0, 100.0,
        alerts=rules, empty_since=100.0, no_agent_since=100.0,
    )  # fmt: skip


def participant(sid: str, **attrs: str) -> Participant:
    return Participant(
        sid, "AC1", "CF1", "room", None, ParticipantStatus.QUEUED, CallStatus.QUEUED,
        "+1", "+2", 100.0, 100.0, 0, attributes=dict(attrs),
    )  # fmt: skip


def test_presence_counts_connected_participants_and_agents() -> None:
    conf = conference(AlertRules(agent_attribute="role=agent"))
    agent, customer = participant("CA1", role="agent"), participant("CA2")
    for p in (agent, customer):
        p.status = ParticipantStatus.CONNECTED
        presence.count(conf, p, 110.0)
    assert (conf.present, conf.agents, conf.empty_since, conf.no_agent_since) == (2, 1, None, None)
    agent.status = ParticipantStatus.COMPLETE
    presence.count(conf, agent, 120.0)
    presence.count(conf, agent, 130.0)  # counted once
    assert (conf.present, conf.agents, conf.no_agent_since) == (1, 0, 120.0)
    customer.status = ParticipantStatus.COMPLETE
    presence.count(conf, customer, 125.0)
    assert (conf.present, conf.empty_since) == (0, 125.0)


def test_each_alert_is_due_at_its_crossing_once() -> None:
    rules = AlertRules(hold_seconds=60, duration_seconds=600, empty_seconds=30, end_conference=True)
    conf = conference(rules)
    held = participant("CA1")
    held.hold_since, held.hold_count = 200.0, 1
    assert alerts.next_due(conf, [held]) == 130.0  # empty from its creation
    assert alerts.due(conf, [held], 129.0) == []
    found = alerts.due(conf, [held], 260.0)
    assert [(a.kind, a.since, a.ends_conference) for _, a in found] == [
        (AlertKind.HOLD, 200.0, False),
        (AlertKind.EMPTY, 100.0, True),
    ]
    conf.alerts_fired = [key for key, _ in found]
    assert alerts.due(conf, [held], 300.0) == []
    assert alerts.must_end(conf)  # the empty alert ends it
    held.hold_since, held.hold_count = 400.0, 2  # another hold: another crossing
    assert [a.kind for _, a in alerts.due(conf, [held], 700.0)] == [
        AlertKind.HOLD,
        AlertKind.DURATION,
    ]


def test_no_rules_or_an_ended_conference_is_never_due() -> None:
    assert alerts.next_due(conference(None), []) is None
    conf = conference(AlertRules(duration_seconds=1))
    conf.status = ConferenceStatus.COMPLETED
    assert alerts.due(conf, [], 1e12) == [] and not alerts.must_end(conf)
    hold_only = conference(AlertRules(hold_seconds=5))
    assert not alerts.must_end(hold_only)
