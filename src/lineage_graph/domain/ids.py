"""Typed identities of graph nodes, kept as parts, with one canonical opaque form (the Relay global id).

Parts are stored as separate node properties; the global id is base64 of a JSON array, so colons, slashes
or anything else in a dataset name or URI survive the round trip without a regex.
"""

from __future__ import annotations

import base64
import binascii
import json
from binascii import b2a_base64
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from json.encoder import encode_basestring
from typing import Any, Generic, TypeVar, overload

import orjson

from lineage_graph.domain.errors import ValidationFailed

T = TypeVar("T")


class NodeKind(Enum):
    """Every node label of the graph, with the properties that form its natural key."""

    MODEL_GROUP = ("ModelGroup", ("name",))
    MODEL_VERSION = ("ModelVersion", ("group", "version"))
    DATASET = ("Dataset", ("namespace", "name"))
    DATASET_VERSION = ("DatasetVersion", ("namespace", "name", "version"))
    CODE_VERSION = ("CodeVersion", ("repository", "commit"))
    JOB = ("Job", ("namespace", "name"))
    RUN = ("Run", ("run_id",))
    DEPLOYMENT = ("Deployment", ("deployment_id",))
    APPROVAL_DECISION = ("ApprovalDecision", ("decision_id",))
    AUDIT_EVENT = ("AuditEvent", ("event_id",))

    def __init__(self, label: str, keys: tuple[str, ...]) -> None:
        self.label = label
        self.keys = keys

    # Members are singletons compared by identity, so identity hashing is correct, and it is C code: Enum's
    # own `__hash__` is a Python call, paid on every NodeRef hash (a 10k-node lineage answer hashes ~100k).
    __hash__ = object.__hash__

    @classmethod
    def from_label(cls, label: str) -> NodeKind:
        for kind in cls:
            if kind.label == label:
                return kind
        raise ValueError(label)


KeyPart = str | int


def _json_part(part: KeyPart) -> str:
    return encode_basestring(part) if isinstance(part, str) else int.__repr__(part)


_LABEL_JSON = {kind: "[" + encode_basestring(kind.label) + "," for kind in NodeKind}
_compact_json = orjson.dumps
_URL_SAFE = bytes.maketrans(b"+/", b"-_")


class _computed_once(Generic[T]):  # noqa: N801 - used as a decorator, like functools.cached_property
    """`functools.cached_property` without its lock (Python 3.11 takes one per first read): the value is
    computed on first read and stored in the instance, which then answers every later read by itself. Two
    threads reading at once may both compute it; for a pure function of a frozen object that is harmless."""

    def __init__(self, compute: Callable[[Any], T]) -> None:
        self._compute = compute
        self._name = compute.__name__

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, instance: None, owner: type) -> _computed_once[T]: ...
    @overload
    def __get__(self, instance: object, owner: type) -> T: ...
    def __get__(self, instance: object | None, owner: type) -> T | _computed_once[T]:
        if instance is None:
            return self
        value = instance.__dict__[self._name] = self._compute(instance)
        return value


_new_object = object.__new__
_INTEGER_KEYS = frozenset({(NodeKind.MODEL_VERSION, "version"), (NodeKind.AUDIT_EVENT, "sequence")})


@dataclass(frozen=True)
class NodeRef:
    """A node's identity: its kind and the values of its key properties, in `kind.keys` order."""

    kind: NodeKind
    parts: tuple[KeyPart, ...]

    def __post_init__(self) -> None:
        if len(self.parts) != len(self.kind.keys):
            raise ValueError(f"{self.kind.label} needs {len(self.kind.keys)} key parts")

    @property
    def key(self) -> dict[str, KeyPart]:
        return dict(zip(self.kind.keys, self.parts, strict=True))

    @_computed_once
    def global_id(self) -> str:
        # The JSON array as `json.dumps([label, *parts], separators=(",", ":"), ensure_ascii=False)` writes it,
        # UTF-8 encoded: orjson writes that same text (compact, the same escapes, non-ASCII kept) in one C call,
        # where the standard library's encoder took several (10k ids: ~20 ms to ~12 ms). What orjson refuses (an
        # integer beyond 64 bits) is written by the standard library's string encoder. Base64 without the
        # module's wrappers: a 10k-node answer encodes 10k ids.
        try:
            raw = _compact_json((self.kind.label, *self.parts))
        except orjson.JSONEncodeError:
            raw = (_LABEL_JSON[self.kind] + ",".join([_json_part(p) for p in self.parts]) + "]").encode()
        return b2a_base64(raw, newline=False).translate(_URL_SAFE).rstrip(b"=").decode()

    def __str__(self) -> str:
        return f"{self.kind.label}:" + "/".join(str(p) for p in self.parts)

    @classmethod
    def of(cls, kind: NodeKind, *parts: KeyPart) -> NodeRef:
        return cls(kind, tuple(parts))

    @classmethod
    def of_key(cls, kind: NodeKind, parts: tuple[KeyPart, ...]) -> NodeRef:
        """As `NodeRef(kind, parts)`, for `parts` read by `kind.keys` (so of the right length, unchecked): the
        fields written into the instance at once, where the frozen dataclass's `__init__` sets each through
        `object.__setattr__` (0.46 to 0.25 µs; a walk builds one per node reached)."""
        ref = _new_object(cls)
        fields = ref.__dict__
        fields["kind"] = kind
        fields["parts"] = parts
        return ref

    @classmethod
    def parse(cls, global_id: str, field: str = "id") -> NodeRef:
        """Decode a global id; a malformed one is a validation error naming `field`."""
        try:
            padded = global_id + "=" * (-len(global_id) % 4)
            decoded = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
            label, *parts = decoded
            kind = NodeKind.from_label(label)
            # Each key part has the type its property has (a version number is an integer), so no use case
            # meets a part it cannot use.
            expected = [int if (kind, key) in _INTEGER_KEYS else str for key in kind.keys]
            if len(parts) != len(expected) or not all(
                isinstance(p, t) and not isinstance(p, bool) for p, t in zip(parts, expected, strict=True)
            ):
                raise ValueError("bad part")
            return cls(kind, tuple(parts))
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            raise ValidationFailed.field(field, f"{global_id[:80]!r} is not a valid node id") from None

    def expect(self, *kinds: NodeKind, field: str = "id") -> NodeRef:
        """Return self if it is one of `kinds`, else a validation error naming `field`."""
        if self.kind not in kinds:
            wanted = " or ".join(k.label for k in kinds)
            raise ValidationFailed.field(field, f"expected the id of a {wanted}, got a {self.kind.label}")
        return self
