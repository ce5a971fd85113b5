"""Assembles and runs one Rollcall process: store, carrier, core, gRPC, REST.

Rule 1: start-up makes every promise true before the first request: the store
        open (migrations applied), interrupted calls resolved, the change
        feed's subscribers in place, then the ports opened.
Rule 2: stop() drains first: health NOT_SERVING through the drain window while
        still serving, then new calls refused UNAVAILABLE, in-flight RPCs end
        within the grace period (or UNAVAILABLE), changes begun run to their
        end; grpc's port closes only once every call it accepted has been
        answered by us (service.rpc.door), so none ends CANCELLED.
Rule 3: then it stops what start() began, in reverse, but for the carrier and
        the changes, which end first (no change starts after, and the last
        ones are still announced and delivered); what the callback dispatcher
        has not delivered stays behind its durable cursors.
Rule 4: the store's parts decide the wiring (see store.parts): replicas
        coordinate only where the store offers leases.
Rule 5: health (gRPC, overall and per service, and REST /readyz) follows the
        store's probe (see service.health) from start until stop() drains;
        REST /livez only says the process answers.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile

import grpc
from aiohttp import web
from grpc_health.v1 import health

from service import grpc_races, keys, redact
from service.admission import Admission
from service.alerting import AlertScheduler, parse_defaults
from service.app import grpc_port, http_ports
from service.app.apis import build_apis
from service.app.upkeep import Compaction
from service.auth import Authenticator, check_secrets, parse_networks
from service.carriers.choose import Chosen, choose
from service.carriers.twilio.ingest import callback_urls
from service.clock import Clock, SystemClock, Timer
from service.config import Settings, parse_accounts, parse_api_keys
from service.core import assemble
from service.core.lost_calls import QuietCalls
from service.core.participants import Participants
from service.core.personal import NumberHasher
from service.core.ports.carrier import Carrier, Report
from service.core.ports.dead_letters import DeadLetterStore
from service.core.ports.feed import ChangeFeed
from service.core.ports.store import Store
from service.core.retention import Kind
from service.health import PROCESS_SERVING, HealthPolicy, StoreHealth
from service.logins import login_throttle
from service.maintenance import RetentionPass
from service.metrics import start_metrics
from service.replicas import Coordinator
from service.rpc.callbacks import CallbackApi
from service.rpc.conferences import ConferenceApi
from service.rpc.door import Door
from service.rpc.options import server_options
from service.rpc.participants import ParticipantApi
from service.rpc.queue_probe import QueueProbe
from service.rpc.watch import WatchHub
from service.rpc.watch_account import AccountWatch
from service.store.choose import database_unavailable, open_store
from service.store.parts import StoreParts
from service.tls import GrpcCredentials, HttpContext, TlsFiles
from service.webhooks.destinations import DestinationPolicy
from service.webhooks.dispatcher import Policy, WebhookDispatcher
from service.webhooks.redelivery import Redeliverer

log = logging.getLogger("rollcall.app")


class App:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.parts: StoreParts = open_store(settings)
        self.store: Store = self.parts.store
        self.dead_letters: DeadLetterStore = self.parts.dead_letters
        self.feed: ChangeFeed = self.parts.feed
        # Made by start(), in this order; stop() ends them in reverse.
        self.demo: keys.DemoAccount | None = None
        self.auth: Authenticator | None = None
        self.chosen: Chosen | None = None
        self.carrier: Carrier | None = None
        self.core: assemble.Core | None = None
        self.participants: Participants | None = None
        self.webhooks: WebhookDispatcher | None = None
        self.redeliverer: Redeliverer | None = None
        self.coordinator: Coordinator | None = None
        self.admission: Admission | None = None
        self.door: Door | None = None
        self._queue_probe: QueueProbe | None = None
        self.watch: WatchHub | None = None
        self.account_watch: AccountWatch | None = None
        self.api: ParticipantApi | None = None
        self.conference_api: ConferenceApi | None = None
        self._compaction: Compaction | None = None
        self.retention: RetentionPass | None = None
        self.alerts: AlertScheduler | None = None
        self._server: grpc.aio.Server | None = None
        self.grpc_port = 0
        self._health: health.aio.HealthServicer | None = None
        self.store_health = StoreHealth(
            self.parts.health, self.clock, HealthPolicy.from_settings(settings)
        )
        # The store's probes (stop() cancels them with the other timers).
        self._database_check: Timer | None = None
        self._gateway: object | None = None
        self.http_port: int | None = None
        self._metrics: web.AppRunner | None = None
        self.metrics_port: int | None = None
        self._stopping = False
        # TLS on both ports when the settings give a certificate (service.tls).
        self.tls = TlsFiles.from_settings(settings)
        self.grpc_tls: GrpcCredentials | None = None
        self.http_tls = (
            HttpContext(self.tls) if self.tls is not None and settings.http_listen else None
        )
        self._probe_dir: tempfile.TemporaryDirectory[str] | None = None

    async def start(self) -> None:
        s = self.settings
        redact.install()
        grpc_races.install()
        accounts = parse_accounts(s.accounts)
        api_keys = parse_api_keys(s.api_keys)
        demo_token = {"the demo account": s.demo_auth_token} if s.demo_auth_token else {}
        check_secrets({**accounts, **demo_token}, api_keys, allow_short=s.allow_short_secrets)
        destinations = DestinationPolicy.from_specs(
            s.callback_allow_networks, s.callback_deny_networks
        )
        try:
            await self.store.open()
        except Exception as exc:
            raise database_unavailable(s.database, exc) from exc
        self.demo = await keys.demo_account(self.store, s)
        if self.demo is not None:
            accounts.setdefault(self.demo.account_sid, self.demo.auth_token)
        self.auth = Authenticator(
            accounts,
            api_keys,
            throttle=login_throttle(s, self.clock),
            trusted_proxies=parse_networks(s.trusted_proxies),
        )

        async def sink(report: Report) -> None:
            assert self.core is not None
            await self.core.reports.on_report(report)

        self.chosen = choose(s, self.clock, sink)
        self.carrier = self.chosen.carrier
        if self.chosen.twilio is not None and not s.http_listen:
            raise ValueError("the twilio carrier needs --http-listen: the carrier calls back there")
        self.core = core = assemble.build(
            self.store,
            self.carrier,
            self.clock,
            self.feed,
            speaking_interval=s.speaking_interval_seconds,
        )
        core.runtime.numbers = NumberHasher(await keys.number_hash_key(self.store, s))
        self.participants = core.participants
        core.runtime.alert_defaults = parse_defaults(s.alert_defaults)
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
        if self.parts.leases is not None:
            # Several replicas: callbacks from the lease holder, calls of
            # stopped replicas resolved by a survivor.
            self.coordinator = Coordinator(
                self.parts.leases,
                core,
                self.webhooks,
                heartbeat_seconds=s.replica_heartbeat_seconds,
                placement_bound_seconds=placement_bound,
            )
            self.feed.subscribe(self.coordinator)
            await self.coordinator.start()
        else:
            self.feed.subscribe(self.webhooks)
            await self.webhooks.start()
            await core.recover()
            await core.recover_placements(placement_bound, at_start=True)
        changes = core.runtime.changes
        self.admission = Admission(s.max_in_flight, lambda: changes.orphans)
        apis = await build_apis(
            s, self.store, self.feed, core, self.auth, self.admission, self.clock, destinations
        )
        self.watch, self.account_watch = apis.watch, apis.account_watch
        self.api, self.conference_api = apis.participants, apis.conferences
        self.audit_api = apis.audit
        await self.feed.start()
        self._compaction = Compaction(s, self.clock, self.watch, self.webhooks, self.dead_letters)
        self._compaction.schedule()
        # Once across replicas: where this one holds the lease (or is alone).
        self.retention = RetentionPass.from_settings(
            s, self.store, self.dead_letters, self.clock, self._leading, core.privacy
        )
        self.retention.quiet_calls = QuietCalls(core.runtime, s.carrier_quiet_call_seconds)
        self.retention.start()
        # Every replica follows the alert timers; the leader fires them.
        self.alerts = AlertScheduler(core, self.store, self.clock, self._leading)
        self.feed.subscribe(self.alerts)
        await self.alerts.start()

        # No interceptor: every handler is wrapped once as it is registered
        # (service.rpc.front: queue probe, door, log line and metrics, decoding).
        waited = None
        if s.max_wait_seconds > 0:
            self._queue_probe = QueueProbe(interval=s.max_wait_seconds / 4)
            waited = self._queue_probe.waited
        self.door = Door(waited, s.max_wait_seconds)
        server = grpc.aio.server(options=server_options(s), maximum_concurrent_rpcs=None)
        self._health = grpc_port.add_services(
            server,
            self.door,
            self._queue_probe,
            self.api,
            self.conference_api,
            CallbackApi(self.auth, self.dead_letters, self.redeliverer, self.api.limiter),
            self.audit_api,
        )
        probe_target = self._bind_grpc(server)
        await server.start()
        self._server = server
        if self._queue_probe is not None:
            await self._queue_probe.start(probe_target)
        await grpc_port.set_health(self._health, True)
        PROCESS_SERVING.set(1)
        self.store_health.on_change(self._store_health_changed)
        self.store_health.start()
        self._database_check = self.store_health
        if s.http_listen:
            ingest = None
            if self.chosen.twilio is not None:
                ingest = http_ports.carrier_ingest(self.chosen, core, self.public_base_url)
            self._gateway, self.http_port = await http_ports.open_gateway(
                s,
                self.api,
                self.conference_api,
                self.audit_api,
                self.http_tls,
                ingest,
                self.ready,
            )
            if self.chosen.twilio is not None:
                self.chosen.twilio.callbacks = callback_urls(self.public_base_url())
        if s.metrics_listen:
            self._metrics, self.metrics_port = await start_metrics(s.metrics_listen)
        if self.demo is not None:
            # Every port is bound: this start gets to serve, so it may show the token.
            self.demo.show = await keys.claim_showing(self.store, self.demo)
        log.info(
            "serving",
            extra={"grpc_port": self.grpc_port, "http_port": self.http_port},
        )

    def _bind_grpc(self, server: grpc.aio.Server) -> str:
        """Bind the gRPC port (service.app.grpc_port.bind); the target the
        queue probes reach this server at."""
        bound = grpc_port.bind(
            server, self.settings.grpc_listen, self.tls, self._queue_probe is not None
        )
        self.grpc_port, self.grpc_tls, self._probe_dir = (
            bound.port,
            bound.credentials,
            bound.probe_dir,
        )
        return bound.probe_target

    def public_base_url(self) -> str:
        """Where the carrier reaches this server: the setting, else the HTTP address."""
        return http_ports.public_base_url(self.settings, self.tls, self.http_port)

    async def ready(self) -> bool:
        """What health says of the services (REST /readyz): the store serves
        and the server is not stopping."""
        return self.store_health.serving and not self._stopping

    async def _store_health_changed(self, serving: bool) -> None:
        """gRPC health follows the store; once stop() has begun, the drain
        owns it (and grpc ignores changes after enter_graceful_shutdown)."""
        if self._health is None or self._stopping:
            return
        PROCESS_SERVING.set(1 if serving else 0)
        await grpc_port.set_health(self._health, serving)

    async def compact(self) -> int:
        """Drop events outside the retention window (time and count)."""
        assert self._compaction is not None
        return await self._compaction.run()

    def _leading(self) -> bool:
        return self.coordinator is None or self.coordinator.leader

    async def retain(self) -> dict[Kind, int]:
        """One retention pass now (where this replica leads): what went, by kind."""
        assert self.retention is not None
        return await self.retention.run()

    async def stop(self, grace: float | None = None) -> None:
        """Health NOT_SERVING for drain_seconds while still serving; then new
        calls are refused UNAVAILABLE, calls in flight get `grace` seconds
        (then end UNAVAILABLE), and every change begun runs to its end; then
        grpc's port closes only once every call it accepted has been answered
        by us (service.rpc.door); then what start() began stops in reverse
        (Rule 3). It also cleans up after a start() that failed part way."""
        self._stopping = True
        PROCESS_SERVING.set(0)
        if self._compaction is not None:
            self._compaction.cancel()
        if self._database_check is not None:
            self._database_check.cancel()
        if self.retention is not None:
            self.retention.stop()
        if self.alerts is not None:
            await self.alerts.stop()
        grace = self.settings.grace_seconds if grace is None else grace
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
            if self.settings.drain_seconds > 0:
                log.info("draining", extra={"seconds": self.settings.drain_seconds})
                await asyncio.sleep(self.settings.drain_seconds)
        if self.admission is not None:
            self.admission.close()
        if self.door is not None:
            self.door.close()
        if self._queue_probe is not None:
            await self._queue_probe.close()
        if self.watch is not None:
            self.watch.close()
        loop = asyncio.get_running_loop()
        grace_ends = loop.time() + max(grace, 0.0)
        if self.admission is not None:
            await self.admission.finish(grace)
        if self.door is not None:
            # The calls no admission counts (other services, grpc's own streams).
            await self.door.finish(grace_ends - loop.time())
        if self.core is not None:
            await self.core.runtime.changes.settle()
        if self._metrics is not None:
            await self._metrics.cleanup()
            self._metrics = None
        if self._gateway is not None:
            await self._gateway.close()  # type: ignore[attr-defined]
            self._gateway = None
        if self._server is not None:
            assert self.door is not None  # made before the server
            await grpc_port.stop_server(self._server, self.door)
            self._server = None
        # The carrier, then the last changes, while their announcements are
        # still heard and delivered.
        if self.carrier is not None:
            await self.carrier.close()
        if self.core is not None:
            # Speech noted and not published yet is not kept (service.core.speech).
            await self.core.reports.speech.close()
            await self.core.runtime.changes.drain()
        await self.feed.stop()
        if self.coordinator is not None:
            await self.coordinator.stop()
        if self.redeliverer is not None:
            await self.redeliverer.close()
        if self.webhooks is not None:
            await self.webhooks.stop()
        await self.store.close()
        if self._probe_dir is not None:
            self._probe_dir.cleanup()
            self._probe_dir = None
