"""The README's worked example, block by block, against the live server: it must work as written."""

from __future__ import annotations

import re
from pathlib import Path

from neo4j import Driver

from tests.support import GraphQLClient

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_graphql_blocks_run_in_order(gql: GraphQLClient, db: Driver) -> None:
    blocks = re.findall(r"```graphql\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert len(blocks) >= 3
    results = [gql.data(block) for block in blocks]
    traced = results[-1]["modelVersion"]
    assert traced["producedBy"]["runId"] == "0b9d6e1c-5f7a-4c3e-9a41-6f2d8e0c1a02"
    assert traced["trainedOn"][0]["name"] == "transactions_clean"
    assert traced["code"] == [{"repository": "github.com/acme/fraud-model", "commit": "1c9e2b7a55d0"}]
    assert results[-1]["run"]["outputs"] == [{"name": "transactions_clean", "version": "2024-06-01"}]
