"""SageMaker figures: SigV4 verification cost, boto3 vs GraphQL round trips, importer throughput.

Run: .venv/bin/python -m bench.sagemaker [--packages 100] [--requests 200]
Starts a private Neo4j (never touches yours), the server on a free port, and moto on another.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from moto.server import ThreadedMotoServer
from tests.support import live_server

from lineage_graph.app import graph_settings, sigv4_master_key
from lineage_graph.config import Settings
from lineage_graph.domain.auth import SYSTEM, Principal, Role
from lineage_graph.integrations.sagemaker.sigv4 import verify
from lineage_graph.integrations.sagemaker.source import Boto3SageMakerSource
from lineage_graph.neo4j_local import Connection, LocalNeo4j, free_port
from lineage_graph.services.container import Services
from lineage_graph.services.sagemaker_import import SageMakerImporter
from lineage_graph.store.constraints import apply_constraints
from lineage_graph.store.graph import Neo4jGraph

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/bench"


@contextmanager
def neo4j(home: Path) -> Iterator[Connection]:
    if os.environ.get("NEO4J_URI"):  # a disposable Neo4j (the bench writes into it; the smoke test's)
        yield Connection(os.environ["NEO4J_URI"], os.environ.get("NEO4J_USER", "neo4j"), os.environ["NEO4J_PASSWORD"])
        return
    instance = LocalNeo4j(home=home, cache_dir=Settings().cache_dir, bolt_port=free_port(), heap="1g", pagecache="256m")
    instance.start()
    try:
        yield instance.credentials()
    finally:
        instance.stop()


def timed(n: int, call: Callable[[], Any]) -> tuple[float, float]:
    """(median, p95) in milliseconds over n calls, after a warm-up."""
    for _ in range(min(10, n)):
        call()
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def bench_sigv4(n: int) -> float:
    """Microseconds to verify one signed request (botocore canonical request + HMAC chain)."""
    body = b'{"ModelPackageGroupName": "churn"}'
    request = AWSRequest(method="POST", url="http://h:1/sagemaker/", data=body, headers={"X-Amz-Target": "SageMaker.X"})
    SigV4Auth(Credentials("LGAKBENCH", "s" * 40), "sagemaker", REGION).add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()} | {"host": "h:1"}

    async def lookup(_: str) -> tuple[Principal, str]:
        return Principal("bench", Role.VIEWER), "s" * 40

    async def run() -> float:
        start = time.perf_counter()
        for _ in range(n):
            await verify("POST", "http://h:1/sagemaker/", headers, body, lookup)
        return (time.perf_counter() - start) / n * 1e6

    return asyncio.run(run())


def seed_moto(url: str, packages: int) -> None:
    sm = boto3.client("sagemaker", region_name=REGION, endpoint_url=url)
    groups = max(1, packages // 20)
    for g in range(groups):
        sm.create_model_package_group(ModelPackageGroupName=f"group-{g}")
    for i in range(packages):
        job = f"job-{i}"
        sm.create_training_job(
            TrainingJobName=job,
            AlgorithmSpecification={"TrainingImage": "img", "TrainingInputMode": "File"},
            RoleArn=ROLE,
            InputDataConfig=[
                {
                    "ChannelName": "train",
                    "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://data/set-{i % 7}/"}},
                }
            ],
            OutputDataConfig={"S3OutputPath": "s3://out/"},
            ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            StoppingCondition={"MaxRuntimeInSeconds": 60},
            HyperParameters={"eta": "0.1"},
        )
        arn = sm.describe_training_job(TrainingJobName=job)["TrainingJobArn"]
        sm.create_model_package(
            ModelPackageGroupName=f"group-{i % groups}",
            InferenceSpecification={
                "Containers": [{"Image": "img", "ModelDataUrl": f"s3://out/{job}/output/model.tar.gz"}],
                "SupportedContentTypes": ["text/csv"],
                "SupportedResponseMIMETypes": ["text/csv"],
            },
            ModelApprovalStatus="Approved" if i % 3 == 0 else "PendingManualApproval",
            MetadataProperties={"GeneratedBy": arn},
        )


def bench_import(settings: Settings, url: str) -> tuple[float, float, int]:
    async def run() -> tuple[float, int]:
        graph = Neo4jGraph.connect(graph_settings(settings))
        try:
            start = time.perf_counter()
            summary = await SageMakerImporter(Services.build(graph)).run(Boto3SageMakerSource.connect(REGION, url))
            return time.perf_counter() - start, summary.changed
        finally:
            await graph.close()

    first, _ = asyncio.run(run())
    second, changed = asyncio.run(run())
    return first, second, changed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    # The figures are the output: silence Neo4j's "unknown relationship type" notices on an empty graph and
    # moto's request log.
    logging.getLogger("neo4j.notifications").setLevel(logging.ERROR)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")

    print(f"SigV4 verification: {bench_sigv4(2000):.0f} µs per request (in process, 2000 requests)")
    with tempfile.TemporaryDirectory() as tmp, neo4j(Path(tmp) / "neo4j") as conn:
        settings = Settings(
            neo4j_uri=conn.uri, neo4j_user=conn.user, neo4j_password=conn.password, data_dir=Path(tmp) / "data"
        )

        async def prepare() -> tuple[str, str, str]:
            graph = Neo4jGraph.connect(graph_settings(settings))
            try:
                await apply_constraints(graph)
                services = Services.build(graph, sigv4_master_key=sigv4_master_key(settings))
                issued = await services.access_keys.issue(SYSTEM, "bench", Role.CONTRIBUTOR)
                token = await services.auth.create_token(SYSTEM, "bench-reader", Role.VIEWER, {})
                return issued.key.access_key_id, issued.secret, token.secret
            finally:
                await graph.close()

        key_id, secret, token = asyncio.run(prepare())
        moto_port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
        moto.start()
        moto_url = f"http://127.0.0.1:{moto_port}"
        try:
            seed_moto(moto_url, args.packages)
            first, second, changed = bench_import(settings, moto_url)
            print(
                f"import of {args.packages} packages (+ as many training jobs, moto on loopback): "
                f"{first:.1f} s first ({args.packages / first:.1f} packages/s), {second:.1f} s again "
                f"({changed} changes)"
            )
        finally:
            moto.stop()

        bearer = {"Authorization": f"Bearer {token}"}
        with live_server(settings) as base, httpx.Client(base_url=base, headers=bearer) as http:
            sm = boto3.client(
                "sagemaker",
                region_name=REGION,
                endpoint_url=f"{base}/sagemaker",
                aws_access_key_id=key_id,
                aws_secret_access_key=secret,
                config=Config(retries={"max_attempts": 1}),
            )
            arn = "arn:aws:sagemaker:us-east-1:000000000000:model-package/group-0/1"
            b_median, b_p95 = timed(args.requests, lambda: sm.describe_model_package(ModelPackageName=arn))
            query = (
                '{ modelVersion(group: "group-0", version: 1) '
                "{ artifactUri approvalStatus producedBy { runId } code { commit } } }"
            )
            g_median, g_p95 = timed(
                args.requests, lambda: http.post("/graphql", json={"query": query}).raise_for_status()
            )
            print(f"DescribeModelPackage via boto3 (SigV4): median {b_median:.1f} ms, p95 {b_p95:.1f} ms")
            print(f"the same version via GraphQL (httpx):   median {g_median:.1f} ms, p95 {g_p95:.1f} ms")
            print(f"ratio boto3/GraphQL: {b_median / g_median:.2f}")


if __name__ == "__main__":
    main()
