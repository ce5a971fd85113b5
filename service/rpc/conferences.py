"""ConferenceService as plain async methods: proto request in, proto response out.

Rule 1: like ParticipantApi, this is the one implementation the gRPC servicer
and the in-process REST gateway both call.
Rule 2: every method authenticates first (and takes from the caller's rate
limit), checks request bounds (service.rpc.limits), then checks that the
resource's account is the caller's (another account's conference is not found,
exactly like a missing one), then validates, then acts.
Rule 3: a bad request changes nothing; failures are RollcallError.
Rule 4: UpdateConference's announce_url is held to the callback destination
policy, as the URLs of a participant's Create and Update are.
"""

from __future__ import annotations

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import participant_pb2 as ppb
from service.auth import Authenticator
from service.core import errors, hearing
from service.core.commands import ConferenceRef
from service.core.conferences import Conferences, ConferenceUpdate
from service.core.ports.store import ConferenceFilter
from service.ratelimit import RateLimiter
from service.rpc import limits, messages, names, requests
from service.rpc.page_tokens import PageTokens, conference_binding
from service.webhooks.destinations import DestinationPolicy, check_request

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000

_STATUSES = {number: status for status, number in messages.CONFERENCE_STATUSES.items()}


def _seconds(message: cpb.ListConferencesRequest, field: str) -> float | None:
    if not message.HasField(field):  # type: ignore[arg-type]
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.seconds + stamp.nanos / 1e9


class ConferenceApi:
    def __init__(
        self,
        auth: Authenticator,
        conferences: Conferences,
        limiter: RateLimiter | None = None,
        page_tokens: PageTokens | None = None,
        destinations: DestinationPolicy | None = None,
    ) -> None:
        self.auth = auth
        self.conferences = conferences
        self.limiter = limiter
        # Without a shared key, tokens are good for this process only.
        self.page_tokens = page_tokens or PageTokens()
        # Where an announce_url may point; None: anywhere.
        self.destinations = destinations

    def _caller(self, authorization: str | None, request: Message) -> str:
        """The caller's account, once authenticated, within its rate limit and
        with `request` within its bounds."""
        account = self.auth.authenticate(authorization)
        if self.limiter is not None:
            self.limiter.take(account)
        limits.check(request)
        return account

    def _conference_of(
        self, authorization: str | None, request: Message, name: str
    ) -> ConferenceRef:
        account = self._caller(authorization, request)
        ref = names.parse_conference(name, "name")
        if account != ref.account_sid:
            raise errors.conference_not_found(f"conference {ref.key}")
        return ref

    async def list_conferences(
        self, request: cpb.ListConferencesRequest, authorization: str | None
    ) -> cpb.ListConferencesResponse:
        account = self._caller(authorization, request)
        if names.parse_account(request.parent) != account:
            # Another account's list is indistinguishable from an unknown one.
            raise errors.not_found(f"account {names.parse_account(request.parent)}")
        if request.page_size < 0 or request.page_size > MAX_PAGE_SIZE:
            raise errors.invalid_field("page_size", f"must be between 1 and {MAX_PAGE_SIZE}")
        if request.status not in (0, *_STATUSES):
            raise errors.invalid_field("status", "unknown value")
        flt = ConferenceFilter(
            friendly_name=request.friendly_name if request.HasField("friendly_name") else None,
            status=_STATUSES.get(request.status),
            created_from=_seconds(request, "created_at_or_after"),
            created_before=_seconds(request, "created_before"),
            updated_from=_seconds(request, "updated_at_or_after"),
            updated_before=_seconds(request, "updated_before"),
        )
        bound = conference_binding(account, flt)
        tokens = self.page_tokens
        after, before = (
            tokens.open(request.page_token, bound) if request.page_token else (None, None)
        )
        page = await self.conferences.list(
            account,
            flt,
            page_size=request.page_size or DEFAULT_PAGE_SIZE,
            before=before,
            after=after,
        )
        return cpb.ListConferencesResponse(
            conferences=[messages.conference(c) for c in page.conferences],
            next_page_token=(
                tokens.issue(None, page.next_before, bound) if page.next_before is not None else ""
            ),
            previous_page_token=(
                tokens.issue(page.previous_after, None, bound)
                if page.previous_after is not None
                else ""
            ),
        )

    async def fetch_conference(
        self, request: cpb.FetchConferenceRequest, authorization: str | None
    ) -> cpb.FetchConferenceResponse:
        ref = self._conference_of(authorization, request, request.name)
        found = await self.conferences.fetch(ref)
        return cpb.FetchConferenceResponse(conference=messages.conference(found))

    async def update_conference(
        self, request: cpb.UpdateConferenceRequest, authorization: str | None
    ) -> cpb.UpdateConferenceResponse:
        ref = self._conference_of(authorization, request, request.name)
        bad: list[errors.FieldViolation] = []
        if request.status not in (0, ppb.CONFERENCE_STATUS_COMPLETED):
            # Twilio's conference_enum_update_status has the one word, completed.
            bad.append(errors.FieldViolation("status", "only completed may be set"))
        if request.announce_url and not requests.valid_url(request.announce_url):
            bad.append(
                errors.FieldViolation("announce_url", "not a valid http or https URL", 21205)
            )
        if request.announce_method not in (0, *messages.METHODS):
            bad.append(errors.FieldViolation("announce_method", "unknown value"))
        if bad:
            raise errors.invalid(bad)
        if self.destinations is not None:
            await check_request(self.destinations, request)
        cmd = ConferenceUpdate(
            end=request.status == ppb.CONFERENCE_STATUS_COMPLETED,
            announce_url=request.announce_url or None,
            announce_method=messages.METHODS.get(request.announce_method),
        )
        updated = await self.conferences.update(ref, cmd)
        return cpb.UpdateConferenceResponse(conference=messages.conference(updated))

    async def get_hearing(
        self, request: cpb.GetHearingRequest, authorization: str | None
    ) -> cpb.GetHearingResponse:
        ref = self._conference_of(authorization, request, request.name)
        conf, revision, matrix = await self.conferences.hearing(ref)
        heard_by = hearing.heard_by(matrix)
        return cpb.GetHearingResponse(
            revision=revision,
            conference_sid=conf.sid,
            rows=[
                cpb.HearingRow(call_sid=sid, hears=hears, heard_by=heard_by[sid])
                for sid, hears in matrix.items()
            ],
        )
