"""The browser code's GraphQL documents are checked against the exported schema, like the server's own SDL:
a field renamed or removed on the server fails here, not in a user's browser."""

from __future__ import annotations

from pathlib import Path

import pytest
from graphql import GraphQLSchema, build_schema, parse, validate
from graphql.language import OperationDefinitionNode

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = sorted((ROOT / "web" / "src").rglob("*.graphql"))


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    return build_schema((ROOT / "schema" / "schema.graphql").read_text())


def test_the_web_sources_have_documents() -> None:
    assert len(DOCUMENTS) >= 10


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda path: path.name)
def test_document_is_valid_against_the_schema(schema: GraphQLSchema, path: Path) -> None:
    document = parse(path.read_text())
    errors = validate(schema, document)
    assert not errors, [error.message for error in errors]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    # One named operation per file, named after the file: the browser sends it as operationName.
    assert [op.name.value if op.name else None for op in operations] == [path.stem]
