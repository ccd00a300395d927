"""A bounded, short-lived, per-process memory of authenticated API tokens.

Every request carries a token and looking it up is a Neo4j round trip: on the hot path it cost more than the
GraphQL work of a small query. A hit is trusted for `ttl` seconds. Revocation and role changes made through
this process evict the principal's entries at once; made through another instance (or the CLI), they take
effect within `ttl` — the documented price of not asking the database on every request. Unknown tokens are
never remembered, so a token issued elsewhere works on its first request.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from lineage_graph.domain.auth import Principal


class TokenCache:
    def __init__(self, ttl: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, token_hash: str) -> Principal | None:
        if self.ttl <= 0:
            return None
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        expires, principal = entry
        if self._clock() >= expires:
            del self._entries[token_hash]
            return None
        return principal

    def put(self, token_hash: str, principal: Principal) -> None:
        if self.ttl <= 0:
            return
        self._entries[token_hash] = (self._clock() + self.ttl, principal)
        self._entries.move_to_end(token_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)  # the oldest entry: insertion order is expiry order

    def forget_principal(self, name: str) -> None:
        """Drop every cached token of `name` (its token was revoked, or its roles changed)."""
        for token_hash in [h for h, (_, p) in self._entries.items() if p.name == name]:
            del self._entries[token_hash]

    def __len__(self) -> int:
        return len(self._entries)
