"""Lineage traversal benchmark: the database's floor vs the service call vs GraphQL over HTTP.

    .venv/bin/python bench/lineage.py              # ~100k nodes, a private Neo4j on a free port
    .venv/bin/python bench/lineage.py --large      # ~1M nodes
    NEO4J_URI=bolt://… NEO4J_PASSWORD=… .venv/bin/python bench/lineage.py --wipe   # an existing, disposable Neo4j
    .venv/bin/python bench/lineage.py --nodes 300 --targets 50 --depths 5 --repeat 1 --warmup 0   # a smoke run

It builds a graph shaped like ML lineage (shared raw datasets, chains of processing runs that also read each
other's outputs, training runs reading many dataset versions, fine-tune chains, models scoring data that later
chains read), picks start nodes whose depth-20 subgraphs are about 1k and 10k nodes, then times the same
upstream and downstream traversals at depth 5, 10 and 20 three ways, interleaved:

- floor: the fastest single Cypher statement we found that returns the same nodes and edges to the client,
  collected in one row (a pruning breadth-first variable-length expansion; its PROFILE is printed once);
- service: `LineageService.lineage` (validation, the one traversal of the store, domain objects), in process;
- graphql: the `lineage` query POSTed with a viewer token to a Uvicorn server in its own process over one
  keep-alive connection, the answer parsed in native code as the floor's row is (httptools and orjson here, the
  driver's Rust extension there; `--http-client httpx` measures through httpx instead);
- compact: the same query selecting `compact` (one JSON value of columns) instead of typed nodes and edges.

Prints p50/p95 in milliseconds and the ratios service/floor and graphql/floor. It is not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from neo4j import AsyncDriver, AsyncGraphDatabase, GraphDatabase

from lineage_graph import heap
from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM, Principal, Role
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import MAX_LIMIT, Direction
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port
from lineage_graph.services.auth import AuthService
from lineage_graph.services.lineage import LineageService
from lineage_graph.store.constraints import apply_constraints
from lineage_graph.store.graph import Neo4jGraph

sys.path.insert(0, str(Path(__file__).parent))
from lean_http import LeanHTTP

NS = "bench"
BATCH = 10_000

# ---------------------------------------------------------------------------------------------- the graph


@dataclass
class Synthetic:
    """Nodes by label (key-part lists) and edges by (source label, type, target label) (pairs of key lists)."""

    nodes: dict[str, list[list[Any]]] = field(default_factory=dict)
    edges: dict[tuple[str, str, str], list[tuple[list[Any], list[Any]]]] = field(default_factory=dict)

    def node(self, label: str, *key: Any) -> list[Any]:
        parts = list(key)
        self.nodes.setdefault(label, []).append(parts)
        return parts

    def edge(self, source: tuple[str, list[Any]], rel: str, target: tuple[str, list[Any]]) -> None:
        self.edges.setdefault((source[0], rel, target[0]), []).append((source[1], target[1]))

    @property
    def node_count(self) -> int:
        return sum(len(v) for v in self.nodes.values())

    @property
    def edge_count(self) -> int:
        return sum(len(v) for v in self.edges.values())


def synthesize(target_nodes: int, seed: int = 7) -> Synthetic:
    rnd = random.Random(seed)
    g = Synthetic()
    dv = "DatasetVersion"
    raw_versions: list[list[Any]] = []
    for d in range(max(5, target_nodes // 250)):
        dataset = g.node("Dataset", NS, f"raw{d}")
        for v in range(4):
            version = g.node(dv, NS, f"raw{d}", f"v{v}")
            g.edge((dv, version), "VERSION_OF", ("Dataset", dataset))
            raw_versions.append(version)
    codes = [g.node("CodeVersion", f"github.com/{NS}/repo{r}", f"{r:040x}") for r in range(max(3, target_nodes // 400))]
    groups = [g.node("ModelGroup", f"group{i}") for i in range(max(2, target_nodes // 1000))]
    latest: dict[str, int] = {}
    outputs: list[list[Any]] = []  # processed dataset versions, in creation order
    run_no = 0
    chain = 0

    def popular(pool: list[list[Any]]) -> list[Any]:
        # Skewed: a few raw datasets are read by nearly everything, as in real lakes (the big downstreams).
        return pool[int(len(pool) * rnd.random() ** 4)]

    def run(job: str) -> list[Any]:
        nonlocal run_no
        run_no += 1
        return g.node("Run", f"run-{run_no}", NS, job)

    statuses = ["APPROVED", "PENDING_MANUAL_APPROVAL", "REJECTED"]
    while g.node_count < target_nodes:
        # A processing chain: each step reads the previous output, sometimes a raw version or another chain's
        # output too (the diamonds), and writes one dataset version.
        chain += 1
        previous = popular(raw_versions)
        for step in range(rnd.randint(5, 25)):
            r = run(f"chain{chain}")
            g.edge((dv, previous), "INPUT_TO", ("Run", r))
            for _ in range(rnd.choice([0, 0, 1, 2])):
                extra = popular(raw_versions) if rnd.random() < 0.6 or not outputs else rnd.choice(outputs[-2000:])
                if extra is not previous:
                    g.edge((dv, extra), "INPUT_TO", ("Run", r))
            out = g.node(dv, NS, f"chain{chain}-step{step}", "v1")
            g.edge(("Run", r), "OUTPUT", (dv, out))
            outputs.append(out)
            previous = out
        # Training: one run reads several processed versions, executes a code version, writes a model version
        # (a fine-tune of the group's previous version half the time); some models score data later chains read.
        for _ in range(rnd.randint(1, 3)):
            group = rnd.choice(groups)[0]
            r = run("train")
            for source in rnd.sample(outputs[-3000:], min(len(outputs), rnd.randint(3, 12))):
                g.edge((dv, source), "INPUT_TO", ("Run", r))
            g.edge(("CodeVersion", rnd.choice(codes)), "EXECUTED_BY", ("Run", r))
            number = latest.get(group, 0) + 1
            latest[group] = number
            model = g.node("ModelVersion", group, number, rnd.choice(statuses))
            g.edge(("Run", r), "OUTPUT", ("ModelVersion", model))
            g.edge(("ModelVersion", model), "IN_GROUP", ("ModelGroup", [group]))
            if number > 1 and rnd.random() < 0.5:
                g.edge(("ModelVersion", model), "DERIVED_FROM", ("ModelVersion", [group, number - 1]))
            if rnd.random() < 0.2:
                scoring = run("score")
                g.edge(("ModelVersion", model), "INPUT_TO", ("Run", scoring))
                scored = g.node(dv, NS, f"scores-{group}-{number}", "v1")
                g.edge(("Run", scoring), "OUTPUT", (dv, scored))
                outputs.append(scored)
    return g


_CREATE = {
    "Dataset": "UNWIND $rows AS k CREATE (:Dataset {namespace: k[0], name: k[1]})",
    "DatasetVersion": "UNWIND $rows AS k CREATE (:DatasetVersion {namespace: k[0], name: k[1], version: k[2]})",
    "CodeVersion": "UNWIND $rows AS k CREATE (:CodeVersion {repository: k[0], commit: k[1]})",
    "ModelGroup": "UNWIND $rows AS k CREATE (:ModelGroup {name: k[0]})",
    "ModelVersion": "UNWIND $rows AS k CREATE (:ModelVersion {group: k[0], version: k[1], name: k[0] + '/' + "
    "toString(k[1]), approval_status: k[2], archived: false})",
    "Run": "UNWIND $rows AS k CREATE (:Run {run_id: k[0], job_namespace: k[1], job_name: k[2]})",
}
_MATCH = {
    "Dataset": "{namespace: k[0], name: k[1]}",
    "DatasetVersion": "{namespace: k[0], name: k[1], version: k[2]}",
    "CodeVersion": "{repository: k[0], commit: k[1]}",
    "ModelGroup": "{name: k[0]}",
    "ModelVersion": "{group: k[0], version: k[1]}",
    "Run": "{run_id: k[0]}",
}


def load(uri: str, auth: tuple[str, str], graph: Synthetic) -> None:
    with GraphDatabase.driver(uri, auth=auth, notifications_min_severity="OFF") as driver:
        for label, rows in graph.nodes.items():
            for i in range(0, len(rows), BATCH):
                driver.execute_query(_CREATE[label], rows=rows[i : i + BATCH])
        for (source, rel, target), pairs in graph.edges.items():
            a = _MATCH[source].replace("k[", "p[0][")
            b = _MATCH[target].replace("k[", "p[1][")
            cypher = f"UNWIND $rows AS p MATCH (a:{source} {a}) MATCH (b:{target} {b}) CREATE (a)-[:{rel}]->(b)"
            for i in range(0, len(pairs), BATCH):
                driver.execute_query(cypher, rows=[[s, t] for s, t in pairs[i : i + BATCH]])


# ---------------------------------------------------------------------------------------------- the floor

# The bench traces the data-flow edges, which all point the same way: that is what lets one variable-length
# pattern express the walk, and so what gives the floor a single statement. (With DERIVED_FROM, which upstream
# follows along its arrow while following the others against theirs, no single pruning pattern exists: a
# quantified path pattern that mixes the directions did not finish within 15 s on the 1k-node case.)
FLOW = ("INPUT_TO", "OUTPUT", "EXECUTED_BY", "TRAINED", "BUILT")
_FLOW = "|".join(FLOW)
_PROJECTION = (
    "{.name, .group, .version, .namespace, .repository, .commit, .run_id, .job_name, .approval_status, "
    ".archived, .tags, .needs_review}"
)


def floor_statement(start: NodeRef, direction: Direction, depth: int) -> str:
    """The fastest single statement we found for the same nodes and edges: a pruning breadth-first
    variable-length expansion (`VarLengthExpand(Pruning,BFS)`: each node expanded once, diamonds free), the
    edges around each reached node, everything collected into one row. `depth` is a validated integer."""
    keys = ", ".join(f"{k}: $k{i}" for i, k in enumerate(start.kind.keys))
    if direction is Direction.UPSTREAM:
        walk, around = f"(s)<-[:{_FLOW}*0..{int(depth)}]-(m)", f"(m)<-[r:{_FLOW}]-(x)"
    else:
        walk, around = f"(s)-[:{_FLOW}*0..{int(depth)}]->(m)", f"(m)-[r:{_FLOW}]->(x)"
    return f"""
MATCH (s:{start.kind.label} {{{keys}}})
MATCH {walk}
WITH DISTINCT m
CALL (m) {{ MATCH {around} RETURN collect([elementId(startNode(r)), elementId(endNode(r)), type(r)]) AS around }}
RETURN collect([elementId(m), labels(m), m {_PROJECTION}]) AS nodes, collect(around) AS edges
"""


async def floor(driver: AsyncDriver, start: NodeRef, direction: Direction, depth: int) -> dict[str, Any]:
    """Run the floor statement: its one row, decoded (what the client receives; counted by `floor_counts`)."""
    params = {f"k{i}": p for i, p in enumerate(start.parts)}

    async def work(tx: Any) -> dict[str, Any]:
        result = await tx.run(floor_statement(start, direction, depth), params)
        row = await result.single()
        return {"nodes": row["nodes"], "edges": row["edges"]}

    async with driver.session() as session:
        answer: dict[str, Any] = await session.execute_read(work)
        return answer


def floor_counts(row: dict[str, Any]) -> tuple[int, int]:
    """The floor's nodes and edges; the edges kept are those between reached nodes (what the walk returns)."""
    ids = {node[0] for node in row["nodes"]}
    edges = {(a, b, t) for around in row["edges"] for a, b, t in around if a in ids and b in ids}
    return len(ids), len(edges)


async def print_profile(driver: AsyncDriver, start: NodeRef, direction: Direction, depth: int) -> None:
    params = {f"k{i}": p for i, p in enumerate(start.parts)}
    async with driver.session() as session:
        result = await session.run("PROFILE " + floor_statement(start, direction, depth), params)
        summary = await result.consume()
    print(f"\nPROFILE of the floor statement ({start}, {direction.value}, depth {depth}):")

    def show(plan: dict[str, Any], indent: int = 0) -> None:
        details = str(plan.get("args", {}).get("Details", ""))[:90]
        operator = f"{' ' * indent}{plan['operatorType']}"
        print(f"  {operator:<40} rows {plan.get('rows', 0):>7}  hits {plan.get('dbHits', 0):>8}  {details}")
        for child in plan.get("children", []):
            show(child, indent + 2)

    assert summary.profile is not None
    show(summary.profile)


# ---------------------------------------------------------------------------------------------- timing


async def post_graphql(client: LeanHTTP | httpx.AsyncClient, query: str, variables: dict[str, Any]) -> Any:
    """The query's answer, parsed (orjson, in native code as the floor's row is decoded); errors raise."""
    payload = orjson.dumps({"query": query, "variables": variables})
    if isinstance(client, LeanHTTP):
        status, content = await client.post("/graphql", payload)
    else:
        headers = {"content-type": "application/json"}
        response = await client.post("/graphql", content=payload, headers=headers)
        status, content = response.status_code, response.content
    body = orjson.loads(content)
    if status != 200 or body.get("errors"):
        raise RuntimeError(f"HTTP {status}: {body.get('errors')}")
    return body["data"]


GRAPHQL = """query($id: ID!, $direction: LineageDirection!, $depth: Int!, $limit: Int!, $edges: [LineageEdgeType!]) {
  lineage(id: $id, direction: $direction, depth: $depth, limit: $limit, edgeTypes: $edges) {
    depthReached truncated truncationReason
    nodes { id kind displayName distance approvalStatus tags expandable }
    edges { source target type }
  }
}"""
GRAPHQL_COMPACT = GRAPHQL.replace(
    """nodes { id kind displayName distance approvalStatus tags expandable }
    edges { source target type }""",
    "compact",
)
WAYS = ("floor", "service", "graphql", "compact")


@dataclass
class Case:
    label: str
    start: NodeRef
    direction: Direction
    depth: int
    nodes: int = 0
    edges: int = 0
    floor_nodes: int = 0
    floor_row: dict[str, Any] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=lambda: {way: [] for way in WAYS})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    began = time.perf_counter()
    await fn()
    return time.perf_counter() - began


async def measure(
    cases: list[Case], conn: Connection, base_url: str, token: str, repeat: int, warmup: int, http_client: str = "lean"
) -> None:
    settings = Settings(
        neo4j_uri=conn.uri, neo4j_user=conn.user, neo4j_password=conn.password, neo4j_query_timeout=120.0
    )
    graph = Neo4jGraph.connect(graph_settings(settings))
    service = LineageService.over(graph, budget=60.0)
    driver = AsyncGraphDatabase.driver(conn.uri, auth=(conn.user, conn.password), notifications_min_severity="OFF")
    reader = Principal("bench-reader", Role.VIEWER)
    lean = LeanHTTP(base_url, token)
    try:
        async with httpx.AsyncClient(
            base_url=base_url, timeout=120, headers={"Authorization": f"Bearer {token}"}
        ) as httpx_client:
            http: LeanHTTP | httpx.AsyncClient = lean if http_client == "lean" else httpx_client
            for case in cases:

                async def raw(case: Case = case) -> None:
                    # Counted after the timing: the floor is the statement and its decoded row, as the GraphQL
                    # figure is the request and its parsed answer.
                    case.floor_row = await floor(driver, case.start, case.direction, case.depth)

                async def call(case: Case = case) -> None:
                    result = await service.lineage(
                        reader, case.start.global_id, case.direction, case.depth, None, FLOW, MAX_LIMIT
                    )
                    case.nodes, case.edges = len(result.nodes), len(result.edges)

                async def gql(case: Case = case, query: str = GRAPHQL) -> None:
                    variables = {
                        "id": case.start.global_id,
                        "direction": case.direction.value,
                        "depth": case.depth,
                        "limit": MAX_LIMIT,
                        "edges": list(FLOW),
                    }
                    await post_graphql(http, query, variables)

                async def gql_compact(case: Case = case) -> None:
                    await gql(case, GRAPHQL_COMPACT)

                ways = {"floor": raw, "service": call, "graphql": gql, "compact": gql_compact}
                for _ in range(warmup):
                    for fn in ways.values():
                        await fn()
                for _ in range(repeat):
                    for name, fn in ways.items():  # interleaved, so drift and neighbours hit all three alike
                        case.times[name].append(await timed(fn))
                case.floor_nodes, _ = floor_counts(case.floor_row)
                print(f"  measured {case.label} {case.direction.value} depth {case.depth}", file=sys.stderr)
    finally:
        await lean.close()
        await driver.close()
        await graph.close()


async def pick_starts(
    conn: Connection, graph: Synthetic, rnd: random.Random, targets: list[int]
) -> list[tuple[str, NodeRef, Direction]]:
    """Start nodes whose depth-20 subgraphs are closest to each target size, upstream and downstream."""
    driver = AsyncGraphDatabase.driver(conn.uri, auth=(conn.user, conn.password), notifications_min_severity="OFF")
    starts: list[tuple[str, NodeRef, Direction]] = []
    models = [NodeRef.of(NodeKind.MODEL_VERSION, k[0], k[1]) for k in graph.nodes["ModelVersion"]]
    versions = [NodeRef.of(NodeKind.DATASET_VERSION, *k) for k in graph.nodes["DatasetVersion"]]
    try:
        # The most-read raw versions and the newest models have the big subgraphs.
        # Raw versions' popularity falls off with their index, so indexes spread geometrically give downstream
        # subgraphs of every size (on the 1M-node graph the first few reach hundreds of thousands of nodes).
        spread = [versions[i] for i in (40, 60, 90, 130, 200, 300, 450, 700, 1000, 1500, 2200) if i < len(versions)]
        for direction, pool, likely in (
            (Direction.UPSTREAM, models, models[-30:]),
            (Direction.DOWNSTREAM, versions, versions[:30] + spread),
        ):
            sample = likely + rnd.sample(pool, min(20, len(pool)))
            sizes = [(floor_counts(await floor(driver, ref, direction, 20))[0], ref) for ref in sample]
            for target in targets:
                size, ref = min(sizes, key=lambda s: abs(s[0] - target))
                starts.append((f"~{target:,} ({ref.kind.label} {size})", ref, direction))
    finally:
        await driver.close()
    return starts


async def issue_token(settings: Settings) -> str:
    graph = Neo4jGraph.connect(graph_settings(settings))
    try:
        await apply_constraints(graph)
        return (await AuthService(graph).create_token(SYSTEM, "bench-reader", Role.VIEWER, {})).secret
    finally:
        await graph.close()


# ---------------------------------------------------------------------------------------------- wiring


@contextmanager
def neo4j(args: argparse.Namespace) -> Iterator[Connection]:
    if os.environ.get("NEO4J_URI"):
        conn = Connection(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
        with GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password)) as driver:
            count = driver.execute_query("MATCH (n) RETURN count(n) AS c").records[0]["c"]
            if count and not args.wipe:
                raise SystemExit(f"{conn.uri} holds {count} nodes; pass --wipe to let the bench delete them")
            with driver.session() as session:
                session.run("MATCH (n) CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
        yield conn
        return
    with tempfile.TemporaryDirectory(prefix="lineage-bench-") as home:
        instance = LocalNeo4j(
            home=Path(home),
            cache_dir=Settings().cache_dir,
            bolt_port=free_port(),
            heap=args.heap,
            pagecache=args.pagecache,
        )
        print(f"starting a private Neo4j on {instance.uri} …", file=sys.stderr)
        conn = instance.start()
        try:
            yield conn
        finally:
            instance.stop()


@contextmanager
def server(conn: Connection) -> Iterator[str]:
    """The real server (create_app under Uvicorn) in its own process, so client and server do not share a GIL."""
    port = free_port()
    env = {**os.environ, "NEO4J_URI": conn.uri, "NEO4J_USER": conn.user, "NEO4J_PASSWORD": conn.password}
    env["LINEAGE_GRAPH_NEO4J_QUERY_TIMEOUT"] = "120"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "--app-dir",
        str(Path(__file__).parent),
        "lineage:server_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("the GraphQL server did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def server_app() -> Any:
    """Uvicorn's factory: the server exactly as `lineage-graph serve` builds it, settings from the environment."""
    from lineage_graph.app import create_app

    return create_app(Settings())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=100_000, help="synthetic graph size (default 100k)")
    parser.add_argument("--large", action="store_true", help="1M nodes (and a bigger heap and page cache)")
    parser.add_argument("--targets", default="1000,10000", help="subgraph sizes to pick starts for")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per case and way (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--depths", default="5,10,20")
    parser.add_argument("--wipe", action="store_true", help="with NEO4J_URI: delete what is there first")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--http-client",
        choices=("lean", "httpx"),
        default="lean",
        help="the GraphQL client: one keep-alive connection parsed by httptools (default), or httpx",
    )
    args = parser.parse_args(argv)
    if args.large:
        args.nodes = 1_000_000
        args.heap, args.pagecache = "4g", "3g"
    depths = [int(d) for d in args.depths.split(",")]
    targets = [int(t) for t in args.targets.split(",")]

    began = time.perf_counter()
    synthetic = synthesize(args.nodes, args.seed)
    print(f"synthesized {synthetic.node_count} nodes, {synthetic.edge_count} edges", file=sys.stderr)
    with neo4j(args) as conn:
        # A fresh database on a busy machine can take longer than the server's 15 s for its first writes.
        settings = Settings(
            neo4j_uri=conn.uri, neo4j_user=conn.user, neo4j_password=conn.password, neo4j_query_timeout=120.0
        )
        token = asyncio.run(issue_token(settings))
        load(conn.uri, (conn.user, conn.password), synthetic)
        print(f"loaded in {time.perf_counter() - began:.0f}s", file=sys.stderr)
        starts = asyncio.run(pick_starts(conn, synthetic, random.Random(args.seed), targets))
        cases = [Case(label, ref, direction, depth) for label, ref, direction in starts for depth in depths]
        # The floor's client and the service call run here under the collector settings the server uses, with
        # the synthetic graph (the bench's own scaffolding) frozen out of the collector's view, as the server
        # freezes what it builds at start-up.
        heap.tune(settings.gc_young_threshold)

        async def profile() -> None:
            driver = AsyncGraphDatabase.driver(
                conn.uri, auth=(conn.user, conn.password), notifications_min_severity="OFF"
            )
            try:
                await print_profile(driver, cases[-1].start, cases[-1].direction, cases[-1].depth)
            finally:
                await driver.close()

        with server(conn) as url:
            asyncio.run(measure(cases, conn, url, token, args.repeat, args.warmup, args.http_client))
        asyncio.run(profile())
    report(cases, synthetic, args)


def report(cases: list[Case], synthetic: Synthetic, args: argparse.Namespace) -> None:
    print(
        f"\nlineage bench: {synthetic.node_count} nodes, {synthetic.edge_count} edges; edges followed: "
        f"{', '.join(FLOW)}; {args.repeat} runs per cell after {args.warmup} warm-up; ms p50 / p95\n"
    )
    header = (
        f"{'start':<30} {'dir':<10} {'depth':>5} {'nodes':>6} {'edges':>6}  {'floor':>15}  {'service':>15}  "
        f"{'graphql':>15}  {'compact':>15}  {'svc/floor':>9} {'gql/floor':>9} {'gql/floor p95':>13} {'cmp/floor':>9}"
    )
    print(header)
    print("-" * len(header))
    for c in cases:
        t = c.times
        cells = [f"{pct(t[w], 0.5):7.1f}/{pct(t[w], 0.95):7.1f}" for w in WAYS]
        floor50, floor95 = pct(t["floor"], 0.5), pct(t["floor"], 0.95)
        same = "" if c.floor_nodes == c.nodes else f"  (floor found {c.floor_nodes} nodes)"
        print(
            f"{c.label:<30} {c.direction.value:<10} {c.depth:>5} {c.nodes:>6} {c.edges:>6}  "
            f"{cells[0]}  {cells[1]}  {cells[2]}  {cells[3]}  "
            f"{pct(t['service'], 0.5) / floor50:9.2f} {pct(t['graphql'], 0.5) / floor50:9.2f} "
            f"{pct(t['graphql'], 0.95) / floor95:13.2f} {pct(t['compact'], 0.5) / floor50:9.2f}{same}"
        )
    medians = [statistics.median(c.times["graphql"]) / statistics.median(c.times["floor"]) for c in cases]
    print(f"\ngraphql/floor (p50) across cases: min {min(medians):.2f}, max {max(medians):.2f}")


if __name__ == "__main__":
    main()
