"""Prometheus metrics of one server: HTTP per route, GraphQL per operation, errors by code, Neo4j transactions.

Each app owns its registry (no process-global state), so several apps in one process never collide. Label
values that a client chooses (operation names) are bounded, so a hostile client cannot grow the series count.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from lineage_graph.store.graph import Neo4jGraph

CONTENT_TYPE = CONTENT_TYPE_LATEST
MAX_OPERATION_NAMES = 200
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
# Interactive latencies: 5 ms to 10 s, then the tail.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The instruments the request middleware and the Neo4j collector feed; `render()` is the /metrics body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._operations: set[str] = set()
        self._graph_collector: _GraphCollector | None = None
        r = self.registry
        self.requests = Counter(
            "lineage_graph_http_requests",
            "HTTP requests by route and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "lineage_graph_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge("lineage_graph_http_requests_in_flight", "HTTP requests being served.", registry=r)
        self.exceptions = Counter(
            "lineage_graph_http_exceptions", "Exceptions that escaped a request (served as 500).", ["type"], registry=r
        )
        self.operations = Counter(
            "lineage_graph_graphql_operations",
            "GraphQL operations by name, type and outcome (ok, or error when the response has errors).",
            ["operation", "type", "outcome"],
            registry=r,
        )
        self.operation_seconds = Histogram(
            "lineage_graph_graphql_operation_duration_seconds",
            "GraphQL operation latency (the whole HTTP request) by operation name and type.",
            ["operation", "type"],
            buckets=_BUCKETS,
            registry=r,
        )
        self.graphql_errors = Counter(
            "lineage_graph_graphql_errors",
            "GraphQL errors by extensions.code (parse and validation errors have their own codes).",
            ["operation", "code"],
            registry=r,
        )

    def watch(self, graph: Neo4jGraph, pool_size: int) -> None:
        """Expose the store's transaction counters; called each time the lifespan opens the graph."""
        if self._graph_collector is not None:
            self.registry.unregister(self._graph_collector)  # the app is starting again with a new driver
        self._graph_collector = _GraphCollector(graph, pool_size)
        self.registry.register(self._graph_collector)

    def operation_label(self, name: str | None) -> str:
        """A bounded label for a client-chosen operation name."""
        if name is None:
            return "anonymous"
        if _NAME.fullmatch(name) is None:
            return "invalid"
        if name not in self._operations:
            if len(self._operations) >= MAX_OPERATION_NAMES:
                return "other"
            self._operations.add(name)
        return name

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.request_seconds.labels(method, route).observe(seconds)

    def observe_operation(self, name: str | None, kind: str, error_codes: Iterable[str], seconds: float) -> None:
        label = self.operation_label(name)
        codes = list(error_codes)
        self.operations.labels(label, kind, "error" if codes else "ok").inc()
        self.operation_seconds.labels(label, kind).observe(seconds)
        for code in codes:
            self.graphql_errors.labels(label, code).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _GraphCollector(Collector):
    """Reads Neo4jGraph's counters at scrape time. The driver exposes no public pool statistics, so the pool is
    described by its configured size and the transactions in flight (each holds one connection)."""

    def __init__(self, graph: Neo4jGraph, pool_size: int) -> None:
        self._graph = graph
        self._pool_size = pool_size

    def collect(self) -> Iterator[Metric]:
        stats = self._graph.stats
        transactions = CounterMetricFamily(
            "lineage_graph_neo4j_transactions",
            "Managed transactions by kind and outcome (ok, unavailable, transient, timeout, pool_exhausted, error).",
            labels=["kind", "outcome"],
        )
        for (kind, outcome), count in sorted(stats.transactions.items()):
            transactions.add_metric([kind, outcome], count)
        yield transactions
        attempts = CounterMetricFamily(
            "lineage_graph_neo4j_transaction_attempts",
            "Runs of transaction functions; attempts minus transactions is the driver's retries.",
            labels=["kind"],
        )
        for kind, count in sorted(stats.attempts.items()):
            attempts.add_metric([kind], count)
        yield attempts
        seconds = CounterMetricFamily(
            "lineage_graph_neo4j_transaction_seconds", "Time spent in transactions, retries included.", labels=["kind"]
        )
        for kind, total in sorted(stats.seconds.items()):
            seconds.add_metric([kind], total)
        yield seconds
        yield CounterMetricFamily(
            "lineage_graph_registrations",
            "Model version registrations decided (created, repeated client tokens and refusals).",
            value=stats.registrations,
        )
        yield CounterMetricFamily(
            "lineage_graph_registration_batches",
            "Transactions that wrote registrations: a group's registrations that arrive together share one.",
            value=stats.registration_batches,
        )
        yield GaugeMetricFamily(
            "lineage_graph_neo4j_transactions_in_flight",
            "Transactions running now (each holds one pooled connection).",
            value=stats.in_flight,
        )
        yield GaugeMetricFamily(
            "lineage_graph_neo4j_pool_max_size", "The connection pool's configured size.", value=self._pool_size
        )
        yield GaugeMetricFamily(
            "lineage_graph_neo4j_up",
            "1 unless the last attempt to reach Neo4j failed to connect (then requests fail fast).",
            value=0 if self._graph.down_since is not None else 1,
        )
