"""The plain-object execution answers exactly what Strawberry's own execution answers: data, errors and paths."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import pytest
import strawberry
from graphql import GraphQLObjectType
from strawberry.permission import BasePermission
from strawberry.schema.schema_converter import GraphQLCoreConverter

from lineage_graph.graphql.execution import (
    PlainObjectExecution,
    _plain_read,
    list_projection,
    projection,
    source_field,
)


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


class Inner:
    """What a source field's attribute path reaches into."""

    def __init__(self, name: str | None, colour: Any, labels: Any) -> None:
        self.name, self.colour, self.labels = name, colour, labels


class Sample:
    """A domain object an API type presents through source fields, without a copy."""

    def __init__(self, label: str, weight: int | None, colours: list[Colour], inner: Inner | None = None) -> None:
        self.label, self.weight, self.colours = label, weight, colours
        self.inner = inner or Inner(label, Colour.RED, (label,))


@strawberry.type
class Presented:
    title: str = source_field(lambda s: s.label.title())
    weight: int = source_field(lambda s: s.weight)
    colours: list[Colour] = source_field(lambda s: s.colours)
    # Attribute paths, read inline by the projection.
    label: str = source_field("label")
    inner_name: str = source_field("inner.name")
    shade: Colour | None = source_field("inner.colour")
    tone: Colour = source_field("inner.colour")
    labels: list[str] = source_field("inner.labels")
    maybe_labels: list[str | None] | None = source_field("inner.labels")


def samples() -> list[Sample]:
    return [
        Sample("one", 1, [Colour.RED]),
        Sample("two", None, [], Inner("deux", None, ())),
        Sample("three", 3, [Colour.BLUE], Inner("drei", Colour.BLUE, ["x", 7, "y"])),
        Sample("four", 4, [], Inner("vier", Colour.BLUE, [])),
    ]


def odd_samples() -> list[Sample]:
    """Values a projection must hand back to the general way: a name missing for a non-null field, an enum
    value that is no member, an unhashable one, a list of strings that is a string, a null list."""
    return [
        Sample("five", 5, [], Inner(None, Colour.RED, ("a",))),
        Sample("six", 6, [], Inner("sechs", "green", ("b",))),
        Sample("seven", 7, [], Inner("sieben", ["RED"], "abc")),
        Sample("eight", 8, [], Inner("acht", Colour.RED, None)),
    ]


@strawberry.type
class Query:
    @strawberry.field
    def presented(self) -> list[Presented]:
        return samples()  # type: ignore[return-value]  # source fields read the domain object itself

    @strawberry.field
    def odd_presented(self) -> list[Presented]:
        return odd_samples()  # type: ignore[return-value]

    @strawberry.field
    def nullable_odd_presented(self) -> list[Presented | None] | None:
        return [*odd_samples(), None]  # type: ignore[list-item]

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
    "{ presented { label innerName shade labels maybeLabels } }",
    # `tone` is non-null and the second sample's colour is null.
    "{ presented { label tone } }",
    "{ presented { shade } p2: presented { shade tone label } }",
    "{ oddPresented { label innerName } }",
    "{ oddPresented { label shade } }",
    "{ oddPresented { label labels } }",
    "{ oddPresented { maybeLabels } }",
    "{ nullableOddPresented { label shade } }",
    "{ nullableOddPresented { label maybeLabels } }",
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


def test_attribute_paths_and_enums_read_inline() -> None:
    data, errors = run(plain, "{ presented { label innerName shade labels } }")
    assert not errors
    assert data == {
        "presented": [
            {"label": "one", "innerName": "one", "shade": "RED", "labels": ["one"]},
            {"label": "two", "innerName": "deux", "shade": None, "labels": []},
            # A non-string item of a list of strings is coerced, as the general way does.
            {"label": "three", "innerName": "drei", "shade": "BLUE", "labels": ["x", "7", "y"]},
            {"label": "four", "innerName": "vier", "shade": "BLUE", "labels": []},
        ]
    }
    # The second run meets the enum values again (looked up, not coerced) and answers the same.
    assert run(plain, "{ presented { label innerName shade labels } }") == (data, errors)
    # And that answer is the generated projection's, not the general way's after a failed attempt.
    presented = plain._schema.type_map["Presented"]
    assert isinstance(presented, GraphQLObjectType)
    plan = []
    for name in ("label", "innerName", "shade", "labels"):
        definition = presented.fields[name]
        read = _plain_read(definition.extensions[GraphQLCoreConverter.DEFINITION_BACKREF], definition.resolve)
        assert read is not None
        plan.append((name, read, definition.type))
    project = projection(tuple(plan))
    assert project is not None
    assert [project(sample) for sample in samples()] == data["presented"]
    # The list's own generated comprehension answers the same (an empty tuple of labels inline, as `[]`).
    project_all = list_projection(tuple(plan))
    assert project_all is not None
    assert project_all(samples()) == data["presented"]


def test_source_fields_are_projected_in_one_call() -> None:
    list_projection.cache_clear()
    data, errors = run(plain, "{ presented { title colours } }")
    assert not errors
    assert data == {
        "presented": [
            {"title": "One", "colours": ["RED"]},
            {"title": "Two", "colours": []},
            {"title": "Three", "colours": ["BLUE"]},
            {"title": "Four", "colours": []},
        ]
    }
    # One generated projection of the list for (Presented, that selection), reused for every item.
    assert list_projection.cache_info().currsize == 1
    assert list_projection.cache_info().hits == 0
    run(plain, "{ presented { title colours } }")
    assert list_projection.cache_info().hits == 1
