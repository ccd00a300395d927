"""The planned extension runner runs every kind of hook as Strawberry's own runner does: same calls, same order,
same results, on every request (the hooks are analysed once per class, the extension objects are per request)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest
import strawberry
from strawberry.extensions import SchemaExtension
from strawberry.extensions.runner import SchemaExtensionsRunner
from strawberry.types import ExecutionContext

from lineage_graph.graphql.extension_hooks import PlannedExtensionsRunner, hook_factory

calls: list[str] = []


class Generators(SchemaExtension):
    """Sync generator hooks on every stage; the operation hook also sees the result."""

    def on_operation(self) -> Iterator[None]:
        calls.append(f"{id(self)} gen operation enter")
        yield
        result = self.execution_context.result
        calls.append(f"gen operation exit errors={bool(result and result.errors)}")

    def on_parse(self) -> Iterator[None]:
        calls.append("gen parse enter")
        yield
        calls.append("gen parse exit")

    def on_validate(self) -> Iterator[None]:
        calls.append("gen validate enter")
        yield
        calls.append("gen validate exit")

    def on_execute(self) -> Iterator[None]:
        calls.append("gen execute enter")
        yield
        calls.append("gen execute exit")


class AsyncGenerators(SchemaExtension):
    async def on_operation(self) -> AsyncIterator[None]:
        calls.append("agen operation enter")
        yield
        calls.append("agen operation exit")

    async def on_execute(self) -> AsyncIterator[None]:
        await asyncio.sleep(0)
        calls.append("agen execute enter")
        yield
        calls.append("agen execute exit")


class Callables(SchemaExtension):
    """Plain functions (sync and async) as hooks: called on enter only."""

    def on_parse(self) -> None:  # type: ignore[override]
        calls.append("call parse")

    async def on_validate(self) -> None:  # type: ignore[override]
        calls.append("acall validate")


class Refuses(SchemaExtension):
    """Raises inside the execute stage when the operation is named `refused`."""

    def on_execute(self) -> Iterator[None]:
        if self.execution_context.operation_name == "refused":
            raise ValueError("refused by an extension")
        yield


@strawberry.type
class Query:
    @strawberry.field
    def hello(self) -> str:
        calls.append("resolve hello")
        return "world"

    @strawberry.field
    def broken(self) -> str:
        raise RuntimeError("the resolver failed")


class PlannedSchema(strawberry.Schema):
    def create_extensions_runner(
        self, execution_context: ExecutionContext, extensions: list[SchemaExtension]
    ) -> SchemaExtensionsRunner:
        return PlannedExtensionsRunner(execution_context=execution_context, extensions=extensions)


EXTENSIONS = [Generators, AsyncGenerators, Callables, Refuses]
DOCUMENTS = [
    ("{ hello }", None),
    ("query refused { hello }", "refused"),
    ("{ broken }", None),
    ("{ hello(", None),  # a syntax error: the parse stage's exits still run
    ("{ nope }", None),  # a validation error
]


def _run(schema: strawberry.Schema, document: str, operation: str | None) -> tuple[list[str], object]:
    calls.clear()
    result = asyncio.run(schema.execute(document, operation_name=operation))
    # Extension objects are per request: strip their ids, keeping that they differ between requests.
    seen = [call.split(" ", 1)[1] if call[0].isdigit() else call for call in calls]
    errors = [error.message for error in result.errors or []]
    return seen, (result.data, errors)


@pytest.mark.parametrize(("document", "operation"), DOCUMENTS)
def test_hooks_run_as_strawberry_runs_them(document: str, operation: str | None) -> None:
    theirs = strawberry.Schema(query=Query, extensions=EXTENSIONS)
    ours = PlannedSchema(query=Query, extensions=EXTENSIONS)
    expected = _run(theirs, document, operation)
    assert expected[0], "the extensions ran"
    for _ in range(2):  # the second request reuses the plan made by the first
        assert _run(ours, document, operation) == expected


def test_each_request_has_its_own_extension_objects() -> None:
    schema = PlannedSchema(query=Query, extensions=EXTENSIONS)
    owners = set()
    for _ in range(2):
        calls.clear()
        asyncio.run(schema.execute("{ hello }"))
        owners.add(calls[0].split(" ", 1)[0])
    assert len(owners) == 2


def test_a_class_without_a_stage_hook_is_left_out() -> None:
    assert hook_factory(AsyncGenerators, "on_parse") is None
    factory = hook_factory(Generators, "on_parse")
    assert factory is not None
    assert factory[1] is False
    assert hook_factory(AsyncGenerators, "on_execute") is not None
    assert hook_factory(Generators, "on_parse") is factory  # made once
