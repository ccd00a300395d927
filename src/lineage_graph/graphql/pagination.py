"""Relay cursor connections. Cursors are opaque offsets into the filtered, sorted list."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from lineage_graph.domain.errors import ValidationFailed

T = TypeVar("T")
M = TypeVar("M")

_PREFIX = "offset:"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The offset after `cursor` (0 with no cursor); a cursor this server did not make is a validation error."""
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(text)
        return int(text[len(_PREFIX) :]) + 1
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed.field("after", "is not a cursor returned by this API") from None


@strawberry.type(description="Where a page sits in the whole list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int

    @strawberry.field(description="The nodes of this page, without their cursors.")
    def nodes(self) -> list[T]:
        return [edge.node for edge in self.edges]


def connection(items: Sequence[M], total: int, offset: int, render: Callable[[M], T]) -> Connection[T]:
    edges = [Edge(node=render(item), cursor=encode_cursor(offset + i)) for i, item in enumerate(items)]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=offset + len(items) < total,
            has_previous_page=offset > 0,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=total,
    )


def item_fields(info: strawberry.Info[Any, Any]) -> frozenset[str]:
    """The fields the document selects on a connection's items (`nodes { … }`, `edges { node { … } }`, through
    fragments): a list resolver reads with its page what every item of it will ask for, instead of leaving
    each to a batch of its own."""
    names: set[str] = set()
    for field in _fields(info.selected_fields):
        for part in _fields(field.selections):
            if part.name == "nodes":
                names.update(f.name for f in _fields(part.selections))
            elif part.name == "edges":
                for edge in _fields(part.selections):
                    if edge.name == "node":
                        names.update(f.name for f in _fields(edge.selections))
    return frozenset(names)


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:  # a fragment spread or an inline fragment: its own selections
            yield from _fields(selection.selections)
