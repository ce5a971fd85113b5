"""Replicas starting at once on one PostgreSQL database agree on the secrets
they generate at a first start: the page token key and the demo account (the
first write wins and every replica reads it back), so a page token issued by
one replica is accepted by another and the demo token is shown only once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from service import keys
from service.config import Settings
from service.core.ports.store import ParticipantFilter
from service.rpc import page_tokens
from service.store.postgres.schema import PgOptions
from service.store.postgres.store import PostgresStore
from tests import pg

REPLICAS = 4


async def test_replicas_starting_at_once_share_the_page_key_and_demo_account(
    tmp_path: Path,
) -> None:
    dsn = pg.database_for(str(tmp_path))
    stores = [PostgresStore(PgOptions(dsn, pool_size=2)) for _ in range(REPLICAS)]
    await asyncio.gather(*(s.open() for s in stores))
    try:
        settings = Settings(accounts="", demo_account="auto")
        demos = await asyncio.gather(*(keys.demo_account(s, settings) for s in stores))
        found = await asyncio.gather(*(keys.page_token_key(s) for s in stores))
        assert all(d is not None for d in demos)
        assert len({(d.account_sid, d.auth_token) for d in demos if d is not None}) == 1
        assert sum(1 for d in demos if d is not None and d.created) == 1
        shows = await asyncio.gather(
            *(keys.claim_showing(s, d) for s, d in zip(stores, demos, strict=True) if d is not None)
        )
        assert sorted(shows) == [False] * (REPLICAS - 1) + [True]  # shown once
        assert len(set(found)) == 1
        assert await stores[0].get_meta(page_tokens.META_KEY) == found[0]
        # A token sealed by one replica opens on every other.
        flt = ParticipantFilter()
        binding = page_tokens.binding("AC" + "a" * 32, "room", flt)
        token = page_tokens.PageTokens(found[0]).issue(7, None, binding)
        for key in found[1:]:
            assert page_tokens.PageTokens(key).open(token, binding) == (7, None)
    finally:
        await asyncio.gather(*(s.close() for s in stores))
