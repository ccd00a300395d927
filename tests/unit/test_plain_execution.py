"""The plain-object execution answers exactly what Strawberry's own execution answers: data, errors and paths."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.permission import BasePermission

from lineage_graph.graphql.execution import PlainObjectExecution, projection, source_field


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Never(BasePermission):
    message = "not for you"

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Leaf:
    name: str
    count: int
    ratio: float | None
    colour: Colour
    tags: list[str]
    maybe_tags: list[str | None] | None
    identifier: strawberry.ID
    flag: bool | None = None
    secret: str = strawberry.field(default="s", permission_classes=[Never])

    @strawberry.field
    def shout(self) -> str:
        return self.name.upper()

    @strawberry.field
    def child(self) -> Leaf | None:
        if self.count > 1:
            return None
        return leaf(self.name + "-child", 9, None, Colour.BLUE, [], None, "c")


def leaf(
    name: str,
    count: int,
    ratio: float | None,
    colour: Colour,
    tags: list[str],
    maybe_tags: list[str | None] | None,
    identifier: str,
    flag: bool | None = None,
) -> Leaf:
    return Leaf(
        name=name,
        count=count,
        ratio=ratio,
        colour=colour,
        tags=tags,
        maybe_tags=maybe_tags,
        identifier=strawberry.ID(identifier),
        flag=flag,
    )


def leaves() -> list[Leaf]:
    return [
        leaf("a", 1, 0.5, Colour.RED, ["x", "y"], ["p", None], "1", True),
        leaf("b", 2, None, Colour.BLUE, [], None, "2"),
    ]


class Sample:
    """A domain object an API type presents through source fields, without a copy."""

    def __init__(self, label: str, weight: int | None, colours: list[Colour]) -> None:
        self.label, self.weight, self.colours = label, weight, colours


@strawberry.type
class Presented:
    title: str = source_field(lambda s: s.label.title())
    weight: int = source_field(lambda s: s.weight)
    colours: list[Colour] = source_field(lambda s: s.colours)


def samples() -> list[Sample]:
    return [Sample("one", 1, [Colour.RED]), Sample("two", None, []), Sample("three", 3, [Colour.BLUE])]


@strawberry.type
class Query:
    @strawberry.field
    def presented(self) -> list[Presented]:
        return samples()  # type: ignore[return-value]  # source fields read the domain object itself

    @strawberry.field
    def one_presented(self) -> Presented:
        return samples()[0]  # type: ignore[return-value]

    @strawberry.field
    def items(self) -> list[Leaf]:
        return leaves()

    @strawberry.field
    def one(self) -> Leaf:
        return leaves()[0]

    @strawberry.field
    def broken(self) -> list[Leaf]:
        # A non-null field holding null, and a list item of the wrong type: errors the plan must not hide.
        bad = leaves()
        bad[1].name = None  # type: ignore[assignment]
        return bad

    @strawberry.field
    def bad_enum(self) -> list[Leaf]:
        bad = leaves()
        bad[0].colour = "green"  # type: ignore[assignment]
        return bad

    @strawberry.field
    def nullable_items(self) -> list[Leaf | None] | None:
        return [leaves()[0], None]

    @strawberry.field
    def non_null_items_with_null(self) -> list[Leaf]:
        return [leaves()[0], None]  # type: ignore[list-item]


general = strawberry.Schema(query=Query)
plain = strawberry.Schema(query=Query, execution_context_class=PlainObjectExecution)

DOCUMENTS = [
    "{ items { name count ratio colour tags maybeTags identifier flag __typename } }",
    "{ items { n: name c: count name } one { colour tags } }",
    "{ items { ...F } } fragment F on Leaf { name colour ... on Leaf { count } }",
    "query($yes: Boolean!) { items { name count @include(if: $yes) ratio @skip(if: $yes) } }",
    "{ items { name shout child { name colour } } }",
    "{ items { name secret } }",
    "{ broken { name count } }",
    "{ badEnum { name colour } }",
    "{ nullableItems { name } }",
    "{ nonNullItemsWithNull { name } }",
    "{ onePresented { title weight colours __typename } }",
    # `weight` is non-null and the second sample has none: the error is reported where it is.
    "{ presented { t: title weight colours } }",
    "{ presented { title colours } }",
]


def run(schema: strawberry.Schema, document: str) -> tuple[Any, list[tuple[str, Any]]]:
    result = asyncio.run(schema.execute(document, variable_values={"yes": True}))
    errors = sorted((e.message, e.path) for e in result.errors or [])
    return result.data, errors


@pytest.mark.parametrize("document", DOCUMENTS)
def test_same_answer_as_the_general_execution(document: str) -> None:
    answer = run(plain, document)
    assert answer == run(general, document)
    assert answer[0] is not None or answer[1]  # something was answered: data, or the errors compared above


def test_plain_answer() -> None:
    data, errors = run(plain, "{ items { n: name colour tags maybeTags flag __typename } }")
    assert not errors
    assert data == {
        "items": [
            {"n": "a", "colour": "RED", "tags": ["x", "y"], "maybeTags": ["p", None], "flag": True}
            | {"__typename": "Leaf"},
            {"n": "b", "colour": "BLUE", "tags": [], "maybeTags": None, "flag": None, "__typename": "Leaf"},
        ]
    }


def test_errors_are_still_reported() -> None:
    data, errors = run(plain, "{ broken { name count } }")
    assert data is None
    assert errors
    assert "Cannot return null for non-nullable field Leaf.name" in errors[0][0]
    assert errors[0][1] == ["broken", 1, "name"]
    _, refused = run(plain, "{ items { name secret } }")
    assert refused
    assert refused[0][0] == "not for you"


def test_source_fields_are_projected_in_one_call() -> None:
    projection.cache_clear()
    data, errors = run(plain, "{ presented { title colours } }")
    assert not errors
    assert data == {
        "presented": [
            {"title": "One", "colours": ["RED"]},
            {"title": "Two", "colours": []},
            {"title": "Three", "colours": ["BLUE"]},
        ]
    }
    # One generated projection for (Presented, that selection), reused for every item.
    assert projection.cache_info().currsize == 1
    assert projection.cache_info().hits == 0
    run(plain, "{ presented { title colours } }")
    assert projection.cache_info().hits == 1
