"""64 clients registering at once over HTTP: each gets its version or a retryable UNAVAILABLE — never an
INTERNAL error — and, retrying with its client token, ends with exactly one version; numbers stay 1..n per
group with no gaps or duplicates."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from neo4j import Driver

from tests.support import GraphQLClient, bearer

CLIENTS = 64
GROUPS = ("conc-a", "conc-b", "conc-c", "conc-d")
REGISTER = """mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { version } }"""


async def _register(http: httpx.AsyncClient, n: int, codes: list[str]) -> int | None:
    group = GROUPS[n % len(GROUPS)]
    variables = {
        "input": {
            "group": group,
            "artifactUri": f"s3://conc/{n}",
            "trainedOnDatasets": [{"namespace": "s3://lake", "name": "shared", "version": "v1"}],
            "producedBy": {"runId": f"conc-run-{n}"},
            "clientToken": f"client-{n}",
        }
    }
    for attempt in range(8):
        response = await http.post("/graphql", json={"query": REGISTER, "variables": variables})
        body: dict[str, Any] = response.json()
        errors = body.get("errors") or []
        codes.extend(str((e.get("extensions") or {}).get("code")) for e in errors)
        if response.status_code == 200 and not errors:
            version: int = body["data"]["registerModelVersion"]["version"]
            return version
        if not all((e.get("extensions") or {}).get("code") == "UNAVAILABLE" for e in errors):
            return None
        await asyncio.sleep(0.2 * (attempt + 1))  # a retry with the same client token is safe
    return None


def test_64_concurrent_registrations_get_a_version_or_a_retryable_error(
    gql: GraphQLClient, db: Driver, base_url: str, admin_token: str
) -> None:
    for group in GROUPS:
        gql.data("mutation($n: String!) { createModelGroup(input: {name: $n}) { name } }", {"n": group})

    async def run() -> tuple[list[int | None], list[str]]:
        codes: list[str] = []
        limits = httpx.Limits(max_connections=CLIENTS)
        async with httpx.AsyncClient(
            base_url=base_url, headers=bearer(admin_token), timeout=120, limits=limits
        ) as http:
            versions = await asyncio.gather(*(_register(http, n, codes) for n in range(CLIENTS)))
        return list(versions), codes

    versions, codes = asyncio.run(run())
    assert set(codes) <= {"UNAVAILABLE"}, codes
    assert None not in versions, f"{versions.count(None)} clients gave up; codes seen: {codes}"
    stored = db.execute_query("MATCH (v:ModelVersion) RETURN v.group AS g, collect(v.version) AS numbers").records
    per_group = {r["g"]: sorted(r["numbers"]) for r in stored}
    assert per_group == {g: list(range(1, CLIENTS // len(GROUPS) + 1)) for g in GROUPS}
