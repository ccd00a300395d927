"""The garbage collector tuned for a server whose answers are large object graphs.

CPython's cyclic collector runs a young collection every 700 container allocations and, every hundred of
those, may walk every live object. A 10k-node lineage answer allocates a few hundred thousand containers (rows,
domain objects, GraphQL objects, response dicts), almost none of them in reference cycles, so the collector
walked the whole heap (the GraphQL schema alone is hundreds of thousands of objects) over and over: measured on
the 10k-node walk, 40% of the server's CPU per request. Two changes, both standard for long-running servers:

- what exists once the app is built (modules, the schema, caches) is frozen out of the collector's view, so a
  full collection walks only what requests allocated;
- the young generation holds `young` allocations (default 200,000) before it is collected. A 10k-node answer's
  live objects peak between 50,000 and 200,000 (they are freed when it is sent): at 50,000 every such request
  paid one young collection of ~40 ms walking its own half-built answer, at 200,000 none in 30 requests.

Reference counting still frees every acyclic object at once; only cycles wait longer, bounded by the thresholds.
"""

from __future__ import annotations

import gc

# How many collections of the young, then the middle generation trigger one of the next (CPython: 10 and 10).
OLDER_THRESHOLDS = (20, 20)


def tune(young: int) -> None:
    """Set the young generation's threshold (0 leaves CPython's own), then freeze what exists now: call once,
    when the app is built."""
    if young:
        gc.set_threshold(young, *OLDER_THRESHOLDS)
    gc.collect()
    gc.freeze()
