"""The SQLite store's lookup cache (service.store.sqlite.lookup_cache): forgotten at
each commit, lookups that raced one dropped, within its bound."""

from __future__ import annotations

from service.core.records import Participant
from service.store.sqlite.lookup_cache import LookupCache
from tests.fakes.connected import ACCOUNT, CONFERENCE, participant


def test_lookup_cache_forgets_at_each_commit_and_drops_lookups_that_raced_one() -> None:
    cache: LookupCache[tuple[str, str, bool, str, bool], Participant] = LookupCache(limit=2)
    key = (ACCOUNT, CONFERENCE, True, "host", False)
    before = cache.generation
    cache.put(key, participant(1), before)
    assert cache.get(key) is not None
    cache.forget_all()
    assert cache.get(key) is None
    # Read before the commit ended, remembered after: not kept.
    cache.put(key, participant(1), before)
    assert cache.get(key) is None
    now = cache.generation
    for n in range(3):
        cache.put((ACCOUNT, CONFERENCE, True, f"p{n}", False), participant(n), now)
    assert len(cache) == 2
    assert cache.get((ACCOUNT, CONFERENCE, True, "p0", False)) is None
