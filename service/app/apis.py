"""The API objects of one process, which both faces call: watches and the services.

Rule 1: the watch hub follows the change feed from the moment it is made, before
        any API object can hand it a watcher.
Rule 2: every API object shares one rate limiter and one page token key: an
        object of its own would double an account's budget, and a token from
        one listing reads in any other.
"""

from __future__ import annotations

import dataclasses

from service import keys
from service.admission import Admission
from service.auth import Authenticator
from service.clock import Clock
from service.config import Settings
from service.core import assemble
from service.core.ports.feed import ChangeFeed
from service.core.ports.store import Store
from service.gateway.render import participant_json_bytes
from service.ratelimit import RateLimiter
from service.renders import Renders
from service.rpc import messages
from service.rpc.account_cursor import CursorSeal
from service.rpc.audit import AuditApi
from service.rpc.conferences import ConferenceApi
from service.rpc.page_tokens import PageTokens
from service.rpc.participants import ParticipantApi
from service.rpc.watch import WatchHub
from service.rpc.watch_account import AccountWatch
from service.rpc.watch_tokens import WatchTokens
from service.webhooks.destinations import DestinationPolicy


@dataclasses.dataclass(frozen=True)
class Apis:
    """What build_apis() made."""

    watch: WatchHub
    account_watch: AccountWatch
    participants: ParticipantApi
    conferences: ConferenceApi
    audit: AuditApi


async def build_apis(
    settings: Settings,
    store: Store,
    feed: ChangeFeed,
    core: assemble.Core,
    auth: Authenticator,
    admission: Admission,
    clock: Clock,
    destinations: DestinationPolicy,
) -> Apis:
    """The watch hub (subscribed to the feed), the account watch and the API objects."""
    s = settings
    watch = WatchHub(
        store,
        core.participants,
        clock,
        progress_seconds=s.watch_progress_seconds,
        per_account=s.watchers_per_account,
    )
    feed.subscribe(watch)
    page_key = await keys.page_token_key(store)
    account_watch = AccountWatch(
        watch,
        CursorSeal(page_key),
        limit=s.watch_account_conferences,
        poll_seconds=s.watch_poll_seconds,
    )
    api = ParticipantApi(
        auth,
        core.participants,
        RateLimiter(clock, s.requests_per_second, s.request_burst),
        admission,
        PageTokens(page_key),
        destinations,
        watch,
        account_watch,
        WatchTokens(page_key, clock, s.watch_token_seconds),
        Renders(messages.participant, participant_json_bytes, s.render_cache_entries),
    )
    # Its own limiter object would double an account's budget: share one.
    conference_api = ConferenceApi(
        auth,
        core.conferences,
        api.limiter,
        api.page_tokens,
        destinations,
    )
    audit_api = AuditApi(auth, store, core.privacy, api.page_tokens, api.limiter)
    return Apis(watch, account_watch, api, conference_api, audit_api)
