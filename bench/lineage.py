"""Lineage traversal benchmark: the raw Cypher floor vs the service call vs GraphQL over HTTP.

    .venv/bin/python bench/lineage.py              # ~100k nodes, a private Neo4j on a free port
    .venv/bin/python bench/lineage.py --large      # ~1M nodes
    NEO4J_URI=bolt://… NEO4J_PASSWORD=… .venv/bin/python bench/lineage.py --wipe   # an existing, disposable Neo4j

It builds a graph shaped like ML lineage (shared raw datasets, chains of processing runs that also read each
other's outputs, training runs reading many dataset versions, fine-tune chains, models scoring data that later
chains read), picks start nodes whose depth-20 subgraphs are about 1k and 10k nodes, then times the same
upstream and downstream traversals at depth 5, 10 and 20 three ways, interleaved:

- raw: the same breadth-first Cypher (one query per level) straight through the async driver, records turned
  into dicts and `json.dumps`-ed: the floor any implementation pays for the database work and the bytes;
- service: `LineageService.lineage` (validation, domain objects, the store), in process;
- graphql: the `lineage` query POSTed to a Uvicorn server in its own process, response parsed.

Prints p50/p95 in milliseconds and the ratios service/raw and graphql/raw. It is not a test: nothing asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from neo4j import AsyncDriver, AsyncGraphDatabase, GraphDatabase

from lineage_graph.app import graph_settings
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.domain.lineage import MAX_LIMIT, Direction
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port
from lineage_graph.services.lineage import LineageService
from lineage_graph.store.constraints import apply_constraints
from lineage_graph.store.graph import Neo4jGraph

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
    with GraphDatabase.driver(uri, auth=auth) as driver:
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

_RAW_EXPAND = """
UNWIND $frontier AS origin
MATCH (n) WHERE elementId(n) = origin
CALL (n) {
  MATCH (n)-[r]->(m) WHERE type(r) IN $outgoing RETURN r, m, true AS out
  UNION ALL
  MATCH (n)<-[r]-(m) WHERE type(r) IN $incoming RETURN r, m, false AS out
}
RETURN origin, elementId(r) AS rid, type(r) AS type, out, elementId(m) AS eid, labels(m) AS labels,
       m {.name, .group, .version, .namespace, .repository, .commit, .run_id, .job_name, .approval_status,
          .archived} AS props
"""
_FLOW = ["INPUT_TO", "OUTPUT", "EXECUTED_BY", "TRAINED", "BUILT"]


async def raw_traversal(driver: AsyncDriver, start: NodeRef, direction: Direction, depth: int) -> str:
    """Breadth-first, one query per level in one read transaction, visited set in Python; json.dumps at the end."""
    outgoing, incoming = (_FLOW, ["DERIVED_FROM"]) if direction is Direction.DOWNSTREAM else (["DERIVED_FROM"], _FLOW)
    where = " AND ".join(f"n.{k} = $k{i}" for i, k in enumerate(start.kind.keys))
    find = f"MATCH (n:{start.kind.label}) WHERE {where} RETURN elementId(n) AS eid, n {{.*}} AS props"

    async def work(tx: Any) -> str:
        result = await tx.run(find, {f"k{i}": p for i, p in enumerate(start.parts)})
        root = await result.single()
        nodes: dict[str, Any] = {root["eid"]: root["props"]}
        edges: dict[str, Any] = {}
        frontier = [root["eid"]]
        for _ in range(depth):
            if not frontier:
                break
            result = await tx.run(_RAW_EXPAND, frontier=frontier, outgoing=outgoing, incoming=incoming)
            following = []
            async for record in result:
                row = record.data()
                edges[row["rid"]] = (row["origin"], row["eid"], row["type"], row["out"])
                if row["eid"] not in nodes:
                    nodes[row["eid"]] = {"labels": row["labels"], **row["props"]}
                    following.append(row["eid"])
            frontier = following
        return json.dumps({"nodes": nodes, "edges": list(edges.values())})

    async with driver.session() as session:
        text: str = await session.execute_read(work)
        return text


# ---------------------------------------------------------------------------------------------- timing

GRAPHQL = """query($id: ID!, $direction: LineageDirection!, $depth: Int!, $limit: Int!) {
  lineage(id: $id, direction: $direction, depth: $depth, limit: $limit) {
    depthReached truncated truncationReason
    nodes { id kind displayName distance approvalStatus }
    edges { source target type }
  }
}"""


@dataclass
class Case:
    label: str
    start: NodeRef
    direction: Direction
    depth: int
    nodes: int = 0
    edges: int = 0
    times: dict[str, list[float]] = field(default_factory=lambda: {"raw": [], "service": [], "graphql": []})


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


async def timed(fn: Callable[[], Awaitable[Any]]) -> float:
    began = time.perf_counter()
    await fn()
    return time.perf_counter() - began


async def measure(cases: list[Case], conn: Connection, base_url: str, repeat: int, warmup: int) -> None:
    settings = Settings(neo4j_uri=conn.uri, neo4j_user=conn.user, neo4j_password=conn.password)
    graph = Neo4jGraph.connect(graph_settings(settings))
    service = LineageService.over(graph, budget=60.0)
    driver = AsyncGraphDatabase.driver(conn.uri, auth=(conn.user, conn.password))
    try:
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as http:
            for case in cases:

                async def raw(case: Case = case) -> None:
                    await raw_traversal(driver, case.start, case.direction, case.depth)

                async def call(case: Case = case) -> None:
                    result = await service.lineage(
                        SYSTEM, case.start.global_id, case.direction, case.depth, limit=MAX_LIMIT
                    )
                    case.nodes, case.edges = len(result.nodes), len(result.edges)

                async def gql(case: Case = case) -> None:
                    variables = {
                        "id": case.start.global_id,
                        "direction": case.direction.value,
                        "depth": case.depth,
                        "limit": MAX_LIMIT,
                    }
                    response = await http.post("/graphql", json={"query": GRAPHQL, "variables": variables})
                    body = response.json()
                    if body.get("errors"):
                        raise RuntimeError(body["errors"])

                ways = {"raw": raw, "service": call, "graphql": gql}
                for _ in range(warmup):
                    for fn in ways.values():
                        await fn()
                for _ in range(repeat):
                    for name, fn in ways.items():  # interleaved, so drift and neighbours hit all three alike
                        case.times[name].append(await timed(fn))
                print(f"  measured {case.label} {case.direction.value} depth {case.depth}", file=sys.stderr)
    finally:
        await driver.close()
        await graph.close()


async def subgraph_size(conn: Connection, start: NodeRef, direction: Direction, depth: int) -> int:
    driver = AsyncGraphDatabase.driver(conn.uri, auth=(conn.user, conn.password))
    try:
        return len(json.loads(await raw_traversal(driver, start, direction, depth))["nodes"])
    finally:
        await driver.close()


async def pick_starts(conn: Connection, graph: Synthetic, rnd: random.Random) -> list[tuple[str, NodeRef, Direction]]:
    """Start nodes whose depth-20 subgraphs are closest to ~1k and ~10k nodes, one upstream and one downstream."""
    starts: list[tuple[str, NodeRef, Direction]] = []
    models = [NodeRef.of(NodeKind.MODEL_VERSION, k[0], k[1]) for k in graph.nodes["ModelVersion"]]
    versions = [NodeRef.of(NodeKind.DATASET_VERSION, *k) for k in graph.nodes["DatasetVersion"]]
    # The most-read raw versions and the newest models (ends of fine-tune chains) have the big subgraphs.
    for direction, pool, likely in (
        (Direction.UPSTREAM, models, models[-20:]),
        (Direction.DOWNSTREAM, versions, versions[:20]),
    ):
        sample = likely + rnd.sample(pool, min(20, len(pool)))
        sizes = [(await subgraph_size(conn, ref, direction, 20), ref) for ref in sample]
        for target in (1_000, 10_000):
            size, ref = min(sizes, key=lambda s: abs(s[0] - target))
            starts.append((f"~{target // 1000}k ({ref.kind.label} {size})", ref, direction))
    return starts


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--nodes", type=int, default=100_000, help="synthetic graph size (default 100k)")
    parser.add_argument("--large", action="store_true", help="1M nodes (and a bigger heap and page cache)")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per case and way (default 20)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--depths", default="5,10,20")
    parser.add_argument("--wipe", action="store_true", help="with NEO4J_URI: delete what is there first")
    parser.add_argument("--heap", default="2g")
    parser.add_argument("--pagecache", default="1g")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.large:
        args.nodes = 1_000_000
        args.heap, args.pagecache = "4g", "3g"
    depths = [int(d) for d in args.depths.split(",")]

    began = time.perf_counter()
    synthetic = synthesize(args.nodes, args.seed)
    print(f"synthesized {synthetic.node_count} nodes, {synthetic.edge_count} edges", file=sys.stderr)
    with neo4j(args) as conn:
        settings = Settings(neo4j_uri=conn.uri, neo4j_user=conn.user, neo4j_password=conn.password)

        async def constraints() -> None:
            graph = Neo4jGraph.connect(graph_settings(settings))
            try:
                await apply_constraints(graph)
            finally:
                await graph.close()

        asyncio.run(constraints())
        load(conn.uri, (conn.user, conn.password), synthetic)
        print(f"loaded in {time.perf_counter() - began:.0f}s", file=sys.stderr)
        starts = asyncio.run(pick_starts(conn, synthetic, random.Random(args.seed)))
        cases = [Case(label, ref, direction, depth) for label, ref, direction in starts for depth in depths]
        with server(conn) as url:
            asyncio.run(measure(cases, conn, url, args.repeat, args.warmup))
    report(cases, synthetic, args)


def report(cases: list[Case], synthetic: Synthetic, args: argparse.Namespace) -> None:
    print(
        f"\nlineage bench: {synthetic.node_count} nodes, {synthetic.edge_count} edges; "
        f"{args.repeat} runs per cell after {args.warmup} warm-up; times in ms (p50 / p95)\n"
    )
    header = (
        f"{'start':<28} {'dir':<10} {'depth':>5} {'nodes':>6} {'edges':>6}  {'raw':>15}  {'service':>15}  "
        f"{'graphql':>15}  {'svc/raw':>7} {'gql/raw':>7} {'gql/raw p95':>11}"
    )
    print(header)
    print("-" * len(header))
    for c in cases:
        t = c.times
        cells = [f"{pct(t[w], 0.5):7.1f}/{pct(t[w], 0.95):7.1f}" for w in ("raw", "service", "graphql")]
        raw50, raw95 = pct(t["raw"], 0.5), pct(t["raw"], 0.95)
        print(
            f"{c.label:<28} {c.direction.value:<10} {c.depth:>5} {c.nodes:>6} {c.edges:>6}  "
            f"{cells[0]}  {cells[1]}  {cells[2]}  "
            f"{pct(t['service'], 0.5) / raw50:7.2f} {pct(t['graphql'], 0.5) / raw50:7.2f} "
            f"{pct(t['graphql'], 0.95) / raw95:11.2f}"
        )
    medians = [statistics.median(c.times["graphql"]) / statistics.median(c.times["raw"]) for c in cases]
    print(f"\ngraphql/raw (p50) across cases: min {min(medians):.2f}, max {max(medians):.2f}")


if __name__ == "__main__":
    main()
