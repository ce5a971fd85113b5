"""Page numbers over page tokens (service.gateway.paging)."""

from __future__ import annotations

from collections.abc import Sized

from rollcall.v1 import participant_pb2
from rollcall.v1 import participant_service_pb2 as pb
from service.gateway import paging


async def test_page_numbers_walk_in_steps_of_at_most_1000() -> None:
    total = 2500
    sizes: list[int] = []

    async def call(request: pb.ListParticipantsRequest) -> pb.ListParticipantsResponse:
        """A list of `total` records whose page token is the next record's index."""
        start = int(request.page_token or 0)
        sizes.append(request.page_size)
        end = min(start + request.page_size, total)
        return pb.ListParticipantsResponse(
            participants=[participant_pb2.Participant() for _ in range(end - start)],
            next_page_token=str(end) if end < total else "",
        )

    def records(r: pb.ListParticipantsResponse) -> Sized:
        return r.participants

    def next_token(r: pb.ListParticipantsResponse) -> str:
        return r.next_page_token

    request = pb.ListParticipantsRequest(page_size=50)
    assert await paging.token_for_offset(call, request, 2100, records, next_token) == "2100"
    assert sizes == [1000, 1000, 100]
    assert await paging.token_for_offset(call, request, 0, records, next_token) == ""
    assert await paging.token_for_offset(call, request, 2500, records, next_token) is None
    assert await paging.token_for_offset(call, request, 9000, records, next_token) is None
