"""The conference list's day filters (service.gateway.conference_forms)."""

from __future__ import annotations

import datetime

import pytest
from multidict import MultiDict

from service.core.errors import RollcallError
from service.gateway import conference_forms


def _stamp(request: object, field: str) -> datetime.datetime:
    return getattr(request, field).ToDatetime(tzinfo=datetime.UTC)


def test_day_filters_intersect_as_half_open_ranges() -> None:
    query = conference_forms.parse_list(
        MultiDict({"DateCreated>": "2024-01-01", "DateCreated<": "2024-01-31"}),
        account_sid="AC" + "a" * 32,
    )
    request = query.request
    assert _stamp(request, "created_at_or_after") == datetime.datetime(
        2024, 1, 1, tzinfo=datetime.UTC
    )
    assert _stamp(request, "created_before") == datetime.datetime(2024, 2, 1, tzinfo=datetime.UTC)
    assert query.filters == (("DateCreated<", "2024-01-31"), ("DateCreated>", "2024-01-01"))
    one_day = conference_forms.parse_list(
        MultiDict({"DateUpdated": "2024-03-05", "Status": "In-Progress"}),
        account_sid="AC" + "a" * 32,
    ).request
    assert _stamp(one_day, "updated_before") - _stamp(one_day, "updated_at_or_after") == (
        datetime.timedelta(days=1)
    )
    assert one_day.status != 0


@pytest.mark.parametrize(
    "query", [{"DateCreated": "2024-1-5"}, {"DateCreated<": "yesterday"}, {"Status": "open"}]
)
def test_bad_list_filters_are_refused(query: dict[str, str]) -> None:
    with pytest.raises(RollcallError) as caught:
        conference_forms.parse_list(MultiDict(query), account_sid="AC" + "a" * 32)
    assert [v.field for v in caught.value.violations] == list(query)
