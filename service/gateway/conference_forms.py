"""Twilio's Conference query parameters and form fields -> ConferenceService requests.

Rule 1: read exactly what the SDKs send. List filters are `FriendlyName`,
`Status` (init, in-progress, completed) and the day filters `DateCreated`,
`DateCreated<`, `DateCreated>`, `DateUpdated` and theirs, each a YYYY-MM-DD
UTC day: `=D` is that day, `<D` on or before it, `>D` on or after it
(Twilio's "on or before/after midnight"), sent on as half-open instant ranges.
Rule 2: Update takes `Status=completed`, `AnnounceUrl` and `AnnounceMethod`.
Rule 3: words (Twilio's, from clients.words) are case-insensitive, an empty
value is "not given", unknown fields are ignored, and every unparseable field
is named in one INVALID_ARGUMENT; range and business rules stay in the service.
"""

from __future__ import annotations

import dataclasses
import datetime

from google.protobuf.timestamp_pb2 import Timestamp
from multidict import MultiMapping

from clients.words import words_by_number
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import enums_pb2
from rollcall.v1 import participant_pb2 as ppb
from service.core.errors import FieldViolation, invalid
from service.gateway.forms import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, paging_number
from service.gateway.render_conference import STATUS_VALUES

# Wire order: the order page URIs repeat them in.
LIST_FILTERS = (
    "FriendlyName",
    "Status",
    "DateCreated",
    "DateCreated<",
    "DateCreated>",
    "DateUpdated",
    "DateUpdated<",
    "DateUpdated>",
)
_DAY = datetime.timedelta(days=1)
_METHOD_WORDS = words_by_number(enums_pb2.HttpMethod.DESCRIPTOR)
_METHODS = {
    word.lower(): enums_pb2.HttpMethod.ValueType(number) for number, word in _METHOD_WORDS.items()
}


@dataclasses.dataclass(frozen=True)
class ConferenceListQuery:
    request: cpb.ListConferencesRequest
    filters: tuple[tuple[str, str], ...]
    page_size: int
    page: int
    page_token: str


def _last(query: MultiMapping[str], key: str) -> str:
    values = query.getall(key, [])
    return values[-1] if values else ""


def _day(value: str) -> datetime.datetime:
    try:
        day = datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"must be a date as YYYY-MM-DD, got {value!r}") from None
    if len(value) != 10:
        raise ValueError(f"must be a date as YYYY-MM-DD, got {value!r}")
    return datetime.datetime.combine(day, datetime.time(), tzinfo=datetime.UTC)


def _stamp(moment: datetime.datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


def _range(
    query: MultiMapping[str], wire: str, bad: list[FieldViolation]
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """[from, before) of one date filter family; the three forms intersect."""
    low: datetime.datetime | None = None
    high: datetime.datetime | None = None
    for key, lower, upper in (
        (wire, True, True),
        (wire + ">", True, False),
        (wire + "<", False, True),
    ):
        value = _last(query, key)
        if not value:
            continue
        try:
            day = _day(value)
        except ValueError as error:
            bad.append(FieldViolation(key, str(error)))
            continue
        if lower:
            low = day if low is None else max(low, day)
        if upper:
            high = day + _DAY if high is None else min(high, day + _DAY)
    return low, high


def parse_list(query: MultiMapping[str], *, account_sid: str) -> ConferenceListQuery:
    request = cpb.ListConferencesRequest(parent=f"accounts/{account_sid}")
    bad: list[FieldViolation] = []
    name = _last(query, "FriendlyName")
    if name:
        request.friendly_name = name
    status = _last(query, "Status")
    if status:
        try:
            request.status = STATUS_VALUES[status.lower()]  # type: ignore[assignment]
        except KeyError:
            bad.append(
                FieldViolation("Status", f"{status!r} is not one of: {', '.join(STATUS_VALUES)}")
            )
    for wire, low_field, high_field in (
        ("DateCreated", "created_at_or_after", "created_before"),
        ("DateUpdated", "updated_at_or_after", "updated_before"),
    ):
        low, high = _range(query, wire, bad)
        if low is not None:
            getattr(request, low_field).CopyFrom(_stamp(low))
        if high is not None:
            getattr(request, high_field).CopyFrom(_stamp(high))
    if bad:
        raise invalid(bad)
    page_size = paging_number(query, "PageSize", DEFAULT_PAGE_SIZE)
    page = paging_number(query, "Page", 0)
    if page_size < 1:
        raise invalid([FieldViolation("PageSize", f"must be at least 1, got {page_size}")])
    if page < 0:
        raise invalid([FieldViolation("Page", f"must not be negative, got {page}")])
    page_size = min(page_size, MAX_PAGE_SIZE)
    page_token = _last(query, "PageToken")
    request.page_size = page_size
    request.page_token = page_token
    filters = tuple((key, _last(query, key)) for key in LIST_FILTERS if _last(query, key))
    return ConferenceListQuery(request, filters, page_size, page, page_token)


def parse_update(form: MultiMapping[str], *, name: str) -> cpb.UpdateConferenceRequest:
    request = cpb.UpdateConferenceRequest(name=name)
    bad: list[FieldViolation] = []
    status = _last(form, "Status")
    if status:
        if STATUS_VALUES.get(status.lower()) == ppb.CONFERENCE_STATUS_COMPLETED:
            request.status = ppb.CONFERENCE_STATUS_COMPLETED
        else:
            bad.append(FieldViolation("Status", f"must be completed, got {status!r}"))
    announce_url = _last(form, "AnnounceUrl")
    if announce_url:
        request.announce_url = announce_url
    method = _last(form, "AnnounceMethod")
    if method:
        try:
            request.announce_method = _METHODS[method.lower()]
        except KeyError:
            choices = ", ".join(_METHOD_WORDS.values())
            bad.append(FieldViolation("AnnounceMethod", f"{method!r} is not one of: {choices}"))
    if bad:
        raise invalid(bad)
    return request
