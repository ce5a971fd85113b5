"""Assembles and runs one Rollcall process: store, carrier, core, gRPC, REST.

The rule it keeps: start-up order makes every promise true before the first
request (migrations applied, interrupted calls resolved, then ports opened);
shut-down order reverses it (health NOT_SERVING through the drain window while
still serving, then new calls refused UNAVAILABLE, in-flight RPCs finish
within the grace period or end UNAVAILABLE, changes begun run to their end,
then the carrier, the status callback dispatcher (what it
has not delivered stays behind its durable cursors) and the store close).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from rollcall.v1 import callback_service_pb2 as callback_pb
from rollcall.v1 import callback_service_pb2_grpc as callback_pb_grpc
from rollcall.v1 import conference_service_pb2 as cpb
from rollcall.v1 import conference_service_pb2_grpc as cpb_grpc
from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service import grpc_races, keys, redact
from service.admission import Admission
from service.auth import Authenticator
from service.carriers.choose import Chosen, choose
from service.carriers.twilio.ingest import add_routes as add_carrier_routes
from service.carriers.twilio.ingest import callback_urls
from service.clock import Clock, SystemClock, Timer
from service.config import Settings, parse_accounts, parse_api_keys
from service.core import assemble
from service.core.feed import LocalFeed
from service.core.model import Event
from service.core.ports.carrier import Report
from service.core.ports.dead_letters import DeadLetterStore
from service.core.ports.store import Store
from service.metrics import start_metrics
from service.ratelimit import RateLimiter
from service.replicas import Coordinator
from service.rpc.callbacks import CallbackApi, CallbackServicer
from service.rpc.conference_servicer import ConferenceServicer
from service.rpc.conferences import ConferenceApi
from service.rpc.decoding import DecodingInterceptor
from service.rpc.interceptors import RpcLogInterceptor
from service.rpc.options import server_options
from service.rpc.page_tokens import PageTokens
from service.rpc.participants import ParticipantApi
from service.rpc.prebuilt import PrebuiltResponses
from service.rpc.servicer import ParticipantServicer
from service.rpc.watch import WatchHub
from service.store.postgres import schema as pg_schema
from service.store.postgres.dead_letters import PgDeadLetters
from service.store.postgres.notify import Listener
from service.store.postgres.store import PostgresStore
from service.store.sqlite.dead_letters import DeadLetters
from service.store.sqlite.guard import GuardedSqliteStore
from service.store.sqlite.store import SqliteStore
from service.webhooks.destinations import DestinationPolicy
from service.webhooks.dispatcher import Policy, WebhookDispatcher
from service.webhooks.redelivery import Redeliverer

log = logging.getLogger("rollcall.app")


def open_store(settings: Settings) -> Store:
    """SQLite for a file name, PostgreSQL for a postgresql:// URL."""
    if pg_schema.is_postgres(settings.database):
        store = PostgresStore(
            pg_schema.PgOptions(
                dsn=settings.database,
                pool_size=settings.database_pool_size,
                statement_timeout_seconds=settings.database_statement_timeout_seconds,
                tls=settings.database_tls,
                tls_ca_file=settings.database_tls_ca_file,
            ),
            replica_id=settings.replica_id,
        )
        store.heartbeat_timeout = settings.replica_timeout_seconds
        return store
    return GuardedSqliteStore(settings.database)


def open_dead_letters(store: Store) -> DeadLetterStore:
    """The dead-letter table of the same database as the store."""
    if isinstance(store, PostgresStore):
        return PgDeadLetters(store)
    assert isinstance(store, SqliteStore)
    return DeadLetters(store)


SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ParticipantService"].full_name
CONFERENCE_SERVICE_NAME = cpb.DESCRIPTOR.services_by_name["ConferenceService"].full_name
CALLBACK_SERVICE_NAME = callback_pb.DESCRIPTOR.services_by_name["CallbackService"].full_name
# What health reports on: the server as a whole ("") and each service.
HEALTH_NAMES = ("", SERVICE_NAME, CONFERENCE_SERVICE_NAME, CALLBACK_SERVICE_NAME)


def carrier_ingest(app: App) -> Callable[[web.Application], None]:
    """The carrier callback routes, applying reports through the core."""
    chosen = app.chosen

    async def apply(report: Report, token: str | None) -> None:
        accounts = chosen.tenants.get(report.account_sid, frozenset())
        await app.core.reports.on_report(report, token, accounts)

    def mount(web_app: web.Application) -> None:
        add_carrier_routes(web_app, app.public_base_url, chosen.signing_tokens.get, apply)

    return mount


class _Committed:
    """A feed subscriber that only hears this process's commits."""

    def __init__(self, listener: Callable[[list[Event]], None]) -> None:
        self.listener = listener

    def committed(self, events: Sequence[Event]) -> None:
        self.listener(list(events))

    def heard(self, conference_sid: str, revision: int) -> None:
        return None

    def watching(self) -> list[str]:
        return []


class App:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.store: Store = open_store(settings)
        self._listener: Listener | None = None
        self.coordinator: Coordinator | None = None
        self._database_check: Timer | None = None
        self._health_task: asyncio.Future[None] | None = None
        self.grpc_port = 0
        self.http_port: int | None = None
        self.demo: keys.DemoAccount | None = None
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None
        self._gateway: object | None = None
        self._compaction: Timer | None = None
        self._metrics: web.AppRunner | None = None
        self.metrics_port: int | None = None
        self._stopping = False
        self.webhooks: WebhookDispatcher | None = None
        self.dead_letters = open_dead_letters(self.store)
        self.redeliverer: Redeliverer | None = None

    async def start(self) -> None:
        s = self.settings
        redact.install()
        grpc_races.install()
        accounts = parse_accounts(s.accounts)
        api_keys = parse_api_keys(s.api_keys)
        destinations = DestinationPolicy.from_specs(
            s.callback_allow_networks, s.callback_deny_networks
        )
        await self.store.open()
        self.demo = await keys.demo_account(self.store, s)
        if self.demo is not None:
            accounts.setdefault(self.demo.account_sid, self.demo.auth_token)
        self.auth = Authenticator(accounts, api_keys)

        async def sink(report: Report) -> None:
            await self.core.reports.on_report(report)

        self.chosen: Chosen = choose(s, self.clock, sink)
        self.carrier = self.chosen.carrier
        if self.chosen.twilio is not None and not s.http_listen:
            raise ValueError("the twilio carrier needs --http-listen: the carrier calls back there")
        self.feed = LocalFeed()
        self.core = assemble.build(self.store, self.carrier, self.clock, self.feed)
        self.participants = self.core.participants
        # Before recover(): the calls it fails owe their callbacks too.
        self.webhooks = WebhookDispatcher(
            self.store,
            self.auth,
            self.clock,
            Policy(
                max_attempts=s.callback_max_attempts,
                backoff_seconds=s.callback_backoff_seconds,
                backoff_max_seconds=s.callback_backoff_max_seconds,
                timeout_seconds=s.callback_timeout_seconds,
                destinations=destinations,
            ),
            self.dead_letters,
        )
        self.redeliverer = Redeliverer(
            self.dead_letters, self.auth, s.callback_timeout_seconds, destinations
        )
        # Another replica's Create is past placing its call by then (the
        # carrier's bound, retries included): its placement is never touched.
        placement_bound = 2 * s.twilio_timeout_seconds
        if isinstance(self.store, PostgresStore):
            # Several replicas: callbacks from the lease holder, calls of
            # stopped replicas resolved by a survivor.
            self.coordinator = Coordinator(
                self.store,
                self.core,
                self.webhooks,
                heartbeat_seconds=s.replica_heartbeat_seconds,
                placement_bound_seconds=placement_bound,
            )
            self.feed.subscribe(_Committed(self.coordinator.notify))
            await self.coordinator.start()
        else:
            self.feed.subscribe(_Committed(self.webhooks.notify))
            await self.webhooks.start()
            await self.core.recover()
            await self.core.recover_placements(placement_bound, at_start=True)
        changes = self.core.runtime.changes
        self.admission = Admission(s.max_in_flight, lambda: changes.orphans)
        self.watch = WatchHub(
            self.store,
            self.participants,
            self.clock,
            progress_seconds=s.watch_progress_seconds,
            per_account=s.watchers_per_account,
        )
        self.feed.subscribe(_Committed(self.watch.publish))
        self.api = ParticipantApi(
            self.auth,
            self.participants,
            RateLimiter(self.clock, s.requests_per_second, s.request_burst),
            self.admission,
            PageTokens(await keys.page_token_key(self.store)),
            destinations,
            self.watch,
        )
        # Its own limiter object would double an account's budget: share one.
        self.conference_api = ConferenceApi(
            self.auth,
            self.core.conferences,
            self.api.limiter,
            self.api.page_tokens,
            destinations,
        )
        if isinstance(self.store, PostgresStore):
            self._listener = Listener(
                self.store.options.dsn,
                self.store.options.connect_kwargs(),
                self._announce,
                self.watch.watched,
                self.store.revisions,
                poll_seconds=s.watch_poll_seconds,
                name=f"rollcall-listener {self.store.replica_id}",
            )
            self._listener.start()
        self._schedule_compaction()

        server = grpc.aio.server(
            interceptors=[RpcLogInterceptor(), DecodingInterceptor(), PrebuiltResponses()],
            options=server_options(s),
            maximum_concurrent_rpcs=None,
        )
        pb_grpc.add_ParticipantServiceServicer_to_server(ParticipantServicer(self.api), server)
        cpb_grpc.add_ConferenceServiceServicer_to_server(
            ConferenceServicer(self.conference_api), server
        )
        callback_pb_grpc.add_CallbackServiceServicer_to_server(
            CallbackServicer(
                CallbackApi(self.auth, self.dead_letters, self.redeliverer, self.api.limiter)
            ),
            server,
        )
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (
                SERVICE_NAME,
                CONFERENCE_SERVICE_NAME,
                CALLBACK_SERVICE_NAME,
                health.SERVICE_NAME,
                reflection.SERVICE_NAME,
            ),
            server,
        )
        self.grpc_port = server.add_insecure_port(s.grpc_listen)
        if self.grpc_port == 0:
            raise OSError(f"cannot listen on {s.grpc_listen}")
        await server.start()
        self._server = server
        for name in HEALTH_NAMES:
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        if isinstance(self.store, GuardedSqliteStore):
            self.store.on_gone(self._database_gone)
            self._schedule_database_check()
        if s.http_listen:
            from service.gateway.protocol import HttpLimits
            from service.gateway.server import start_gateway
            from service.gateway.upstream import LocalUpstream

            gateway = await start_gateway(
                LocalUpstream(self.api, self.conference_api),
                s.http_listen,
                limits=HttpLimits.from_settings(s),
                extra_routes=carrier_ingest(self) if self.chosen.twilio is not None else None,
            )
            self._gateway = gateway
            self.http_port = gateway.port
            if self.chosen.twilio is not None:
                self.chosen.twilio.callbacks = callback_urls(self.public_base_url())
        if s.metrics_listen:
            self._metrics, self.metrics_port = await start_metrics(s.metrics_listen)
        log.info(
            "serving",
            extra={"grpc_port": self.grpc_port, "http_port": self.http_port},
        )

    def public_base_url(self) -> str:
        """Where the carrier reaches this server: the setting, else the HTTP address."""
        if self.settings.public_base_url:
            return self.settings.public_base_url.rstrip("/")
        host = self.settings.http_listen.rpartition(":")[0] or "127.0.0.1"
        return f"http://{host}:{self.http_port}"

    def _announce(self, conference_sid: str, revision: int) -> None:
        """Another replica committed this conference up to revision."""
        self.watch.announce(conference_sid, revision)
        if self.coordinator is not None:
            self.coordinator.poke(conference_sid, revision)

    def _schedule_database_check(self) -> None:
        """Notice a database deleted under the server even when nothing writes."""
        store = self.store
        if self.settings.database_check_seconds <= 0 or not isinstance(store, GuardedSqliteStore):
            return  # off: writes still check before they commit

        def check() -> None:
            if store.check() and not self._stopping:
                self._database_check = self.clock.call_later(
                    self.settings.database_check_seconds, check
                )

        self._database_check = self.clock.call_later(self.settings.database_check_seconds, check)

    def _database_gone(self) -> None:
        """Health NOT_SERVING: this process can no longer store anything."""
        if self._health is None or self._stopping:
            return

        async def not_serving() -> None:
            assert self._health is not None
            for name in HEALTH_NAMES:
                await self._health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

        self._health_task = asyncio.ensure_future(not_serving())

    def _schedule_compaction(self) -> None:
        s = self.settings

        async def compact() -> None:
            try:
                await self.compact()
            except Exception:
                log.exception("event compaction failed")
            if not self._stopping:
                self._compaction = self.clock.call_later(s.compaction_interval_seconds, compact)

        self._compaction = self.clock.call_later(s.compaction_interval_seconds, compact)

    async def compact(self) -> int:
        """Drop events outside the retention window (time and count)."""
        s = self.settings
        if self.webhooks is not None:
            await self.webhooks.flush()
        deleted = await self.watch.compact(s.event_retention_seconds, s.event_retention_count)
        # Dead letters go with the events they report.
        await self.dead_letters.prune()
        return deleted

    async def stop(self, grace: float | None = None) -> None:
        """Health NOT_SERVING for drain_seconds while still serving; then new
        calls are refused UNAVAILABLE, calls in flight get `grace` seconds
        (then end UNAVAILABLE), and every change begun runs to its end before
        the carrier, the callback dispatcher and the store close."""
        self._stopping = True
        if self._compaction is not None:
            self._compaction.cancel()
        if self._database_check is not None:
            self._database_check.cancel()
        grace = self.settings.grace_seconds if grace is None else grace
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
            if self.settings.drain_seconds > 0:
                log.info("draining", extra={"seconds": self.settings.drain_seconds})
                await asyncio.sleep(self.settings.drain_seconds)
        admission: Admission | None = getattr(self, "admission", None)
        if admission is not None:
            admission.close()
        if getattr(self, "watch", None) is not None:
            self.watch.close()
        if admission is not None:
            await admission.finish(grace)
        core: assemble.Core | None = getattr(self, "core", None)
        if core is not None:
            await core.runtime.changes.settle()
        if self._gateway is not None:
            await self._gateway.close()  # type: ignore[attr-defined]
            self._gateway = None
        if self._server is not None:
            # Only grpc's own streams (health, reflection) can be left now.
            await self._server.stop(min(grace, 1.0))
            self._server = None
        if self._metrics is not None:
            await self._metrics.cleanup()
            self._metrics = None
        # stop() also cleans up after a start() that failed part way.
        if getattr(self, "carrier", None) is not None:
            await self.carrier.close()
        if core is not None:
            await core.runtime.changes.drain()
        if self.coordinator is not None:
            await self.coordinator.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        if self.redeliverer is not None:
            await self.redeliverer.close()
        if self._listener is not None:
            await self._listener.stop()
        await self.store.close()
