"""`rollcall hearing`'s text: one participant a line."""

from __future__ import annotations

from clients.cli_hearing import hearing_text
from rollcall.v1 import conference_service_pb2 as cpb


def test_each_listener_on_a_line_and_an_empty_audio_said_so() -> None:
    answer = cpb.GetHearingResponse(
        conference_sid="CF1",
        revision=7,
        rows=[
            cpb.HearingRow(call_sid="CAa", hears=["CAb"], heard_by=[]),
            cpb.HearingRow(call_sid="CAb", hears=[], heard_by=["CAa"]),
        ],
    )
    assert hearing_text(answer).splitlines() == [
        "CF1 (revision 7)",
        "CAa  hears CAb; heard by no one",
        "CAb  hears no one; heard by CAa",
    ]
    empty = hearing_text(cpb.GetHearingResponse(conference_sid="CF2", revision=1))
    assert empty == "CF2 (revision 1): no one in the audio"
