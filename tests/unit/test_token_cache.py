"""The token-lookup cache: hits within the TTL, misses after it, bounded size, eviction on revocation."""

from __future__ import annotations

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.services.token_cache import TokenCache

ALICE = Principal(name="alice", role=Role.VIEWER)
BOB = Principal(name="bob", role=Role.ADMIN)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_cached_token_is_trusted_until_its_ttl_passes() -> None:
    clock = Clock()
    cache = TokenCache(ttl=5.0, clock=clock)
    cache.put("h1", ALICE)
    clock.now += 4.9
    assert cache.get("h1") == ALICE
    clock.now += 0.2
    assert cache.get("h1") is None
    assert len(cache) == 0


def test_the_cache_is_bounded_and_drops_the_oldest_first() -> None:
    cache = TokenCache(ttl=60.0, max_entries=3, clock=Clock())
    for n in range(5):
        cache.put(f"h{n}", ALICE)
    assert len(cache) == 3
    assert cache.get("h0") is None
    assert cache.get("h1") is None
    assert cache.get("h4") == ALICE


def test_forgetting_a_principal_drops_all_its_tokens_and_only_them() -> None:
    cache = TokenCache(ttl=60.0, clock=Clock())
    cache.put("a1", ALICE)
    cache.put("a2", ALICE)
    cache.put("b1", BOB)
    cache.forget_principal("alice")
    assert cache.get("a1") is None
    assert cache.get("a2") is None
    assert cache.get("b1") == BOB


def test_a_zero_ttl_caches_nothing() -> None:
    cache = TokenCache(ttl=0.0)
    cache.put("h1", ALICE)
    assert cache.get("h1") is None
    assert len(cache) == 0
