"""Assembles and runs one Rollcall process: store, dialer, core, gRPC, REST.

The rule it keeps: start-up order makes every promise true before the first
request (migrations applied, interrupted calls resolved, then ports opened);
shut-down order reverses it (health NOT_SERVING, in-flight RPCs finish within
the grace period, then the dialer, the status callback dispatcher (what it
has not delivered stays behind its durable cursors) and the store close).
"""

from __future__ import annotations

import dataclasses
import logging
import secrets

import grpc
from aiohttp import web
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from rollcall.v1 import participant_service_pb2 as pb
from rollcall.v1 import participant_service_pb2_grpc as pb_grpc
from service.api import ParticipantApi
from service.auth import Authenticator
from service.clock import Clock, SystemClock, Timer
from service.config import Settings, parse_accounts, parse_api_keys
from service.core.usecases import Participants
from service.dialer.port import CallProgress
from service.dialer.simulated import SimulatedDialer, parse_outcomes
from service.grpcapi.logging import RpcLogInterceptor
from service.grpcapi.servicer import ParticipantServicer
from service.metrics import start_metrics
from service.ratelimit import RateLimiter
from service.replicas import Coordinator
from service.store import pg_schema
from service.store.pg_notify import Listener
from service.store.port import Store
from service.store.postgres import PostgresStore
from service.store.sqlite import SqliteStore
from service.watch import WatchHub
from service.webhooks.dispatcher import Policy, WebhookDispatcher

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
    return SqliteStore(settings.database)


SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ParticipantService"].full_name


@dataclasses.dataclass
class DemoAccount:
    account_sid: str
    auth_token: str


class App:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.store: Store = open_store(settings)
        self._listener: Listener | None = None
        self.coordinator: Coordinator | None = None
        self.grpc_port = 0
        self.http_port: int | None = None
        self.demo: DemoAccount | None = None
        self._server: grpc.aio.Server | None = None
        self._health: health.aio.HealthServicer | None = None
        self._gateway: object | None = None
        self._compaction: Timer | None = None
        self._metrics: web.AppRunner | None = None
        self.metrics_port: int | None = None
        self._stopping = False
        self.webhooks: WebhookDispatcher | None = None

    async def _demo_account(self) -> DemoAccount:
        s = self.settings
        sid = s.demo_account_sid or await self.store.get_meta("demo_account_sid")
        token = s.demo_auth_token or await self.store.get_meta("demo_auth_token")
        if not sid:
            sid = "AC" + secrets.token_hex(16)
        if not token:
            token = secrets.token_hex(16)
        if not s.demo_account_sid:
            await self.store.set_meta("demo_account_sid", sid)
        if not s.demo_auth_token:
            await self.store.set_meta("demo_auth_token", token)
        return DemoAccount(sid, token)

    async def start(self) -> None:
        s = self.settings
        outcomes = parse_outcomes(s.sim_outcomes)
        accounts = parse_accounts(s.accounts)
        api_keys = parse_api_keys(s.api_keys)
        await self.store.open()
        self.demo = await self._demo_account()
        accounts.setdefault(self.demo.account_sid, self.demo.auth_token)
        self.auth = Authenticator(accounts, api_keys)

        async def sink(call_sid: str, progress: CallProgress, at: float) -> None:
            await self.participants.on_progress(call_sid, progress, at)

        if s.dialer != "simulated":
            raise ValueError(f"unknown dialer {s.dialer!r}: only 'simulated' is available")
        self.dialer = SimulatedDialer(
            self.clock,
            sink,
            ring_seconds=s.sim_ring_seconds,
            outcomes=outcomes,
            calls_per_second=s.sim_calls_per_second,
        )
        self.participants = Participants(self.store, self.dialer, self.clock)
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
            ),
        )
        if isinstance(self.store, PostgresStore):
            # Several replicas: callbacks from the lease holder, calls of
            # stopped replicas resolved by a survivor.
            self.coordinator = Coordinator(
                self.store,
                self.participants,
                self.webhooks,
                heartbeat_seconds=s.replica_heartbeat_seconds,
            )
            self.participants.subscribe(self.coordinator.notify)
            await self.coordinator.start()
        else:
            self.participants.subscribe(self.webhooks.notify)
            await self.webhooks.start()
            await self.participants.recover()
        self.api = ParticipantApi(
            self.auth,
            self.participants,
            RateLimiter(self.clock, s.requests_per_second, s.request_burst),
        )
        self.watch = WatchHub(
            self.store,
            self.participants,
            self.auth,
            self.clock,
            progress_seconds=s.watch_progress_seconds,
            per_account=s.watchers_per_account,
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

        server = grpc.aio.server(interceptors=[RpcLogInterceptor()])
        pb_grpc.add_ParticipantServiceServicer_to_server(
            ParticipantServicer(self.api, self.watch), server
        )
        self._health = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        reflection.enable_server_reflection(
            (SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server
        )
        self.grpc_port = server.add_insecure_port(s.grpc_listen)
        if self.grpc_port == 0:
            raise OSError(f"cannot listen on {s.grpc_listen}")
        await server.start()
        self._server = server
        for name in ("", SERVICE_NAME):
            await self._health.set(name, health_pb2.HealthCheckResponse.SERVING)
        if s.http_listen:
            from service.gateway.server import start_gateway

            gateway = await start_gateway(self.api, s.http_listen)
            self._gateway = gateway
            self.http_port = gateway.port
        if s.metrics_listen:
            self._metrics, self.metrics_port = await start_metrics(s.metrics_listen)
        log.info(
            "serving",
            extra={"grpc_port": self.grpc_port, "http_port": self.http_port},
        )

    def _announce(self, conference_sid: str, revision: int) -> None:
        """Another replica committed this conference up to revision."""
        self.watch.announce(conference_sid, revision)
        if self.coordinator is not None:
            self.coordinator.poke(conference_sid, revision)

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
        return await self.watch.compact(s.event_retention_seconds, s.event_retention_count)

    async def stop(self, grace: float | None = None) -> None:
        self._stopping = True
        if self._compaction is not None:
            self._compaction.cancel()
        grace = self.settings.grace_seconds if grace is None else grace
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        if getattr(self, "watch", None) is not None:
            self.watch.close()
        if self._gateway is not None:
            await self._gateway.close()  # type: ignore[attr-defined]
            self._gateway = None
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None
        if self._metrics is not None:
            await self._metrics.cleanup()
            self._metrics = None
        # stop() also cleans up after a start() that failed part way.
        if getattr(self, "dialer", None) is not None:
            await self.dialer.close()
        if self.coordinator is not None:
            await self.coordinator.stop()
        if self.webhooks is not None:
            await self.webhooks.stop()
        if self._listener is not None:
            await self._listener.stop()
        await self.store.close()
