"""SageMaker's Search `SearchExpression` (and the list operations' filters) as typed conditions over the fields
we hold for model packages and model package groups. Pure: the store compiles them into Cypher from a fixed
table of fields and operators, so nothing a caller writes is ever interpolated."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.sagemaker import approval_from_aws, tag_string


class Resource(Enum):
    MODEL_PACKAGE = "ModelPackage"
    MODEL_PACKAGE_GROUP = "ModelPackageGroup"


class FieldType(Enum):
    TEXT = "text"
    NUMBER = "number"
    TIME = "time"
    STATUS = "status"


# Searchable fields per resource and the type their Value is read as. `Tags.<key>` is searchable on both.
FIELDS: Mapping[Resource, Mapping[str, FieldType]] = {
    Resource.MODEL_PACKAGE: {
        "ModelPackageGroupName": FieldType.TEXT,
        "ModelPackageName": FieldType.TEXT,
        "ModelPackageVersion": FieldType.NUMBER,
        "ModelApprovalStatus": FieldType.STATUS,
        "ModelPackageDescription": FieldType.TEXT,
        "CreationTime": FieldType.TIME,
        "LastModifiedTime": FieldType.TIME,
        "CreatedBy.UserProfileName": FieldType.TEXT,
    },
    Resource.MODEL_PACKAGE_GROUP: {
        "ModelPackageGroupName": FieldType.TEXT,
        "ModelPackageGroupDescription": FieldType.TEXT,
        "CreationTime": FieldType.TIME,
        "CreatedBy.UserProfileName": FieldType.TEXT,
    },
}
TAG_PREFIX = "Tags."
# NestedFilters: a list-valued property and the members of its elements a filter may name. One element must
# meet every filter of a NestedFilters entry (SageMaker's semantics). Tags are that list here on both resources.
NESTED: Mapping[str, Mapping[str, FieldType]] = {"Tags": {"Tags.Key": FieldType.TEXT, "Tags.Value": FieldType.TEXT}}
_NESTED_OPERATORS = ("Equals", "NotEquals", "Contains", "In")
OPERATORS = (
    "Equals",
    "NotEquals",
    "GreaterThan",
    "GreaterThanOrEqualTo",
    "LessThan",
    "LessThanOrEqualTo",
    "Contains",
    "Exists",
    "NotExists",
    "In",
)
_TAG_OPERATORS = ("Equals", "NotEquals", "Exists", "NotExists")
MAX_DEPTH = 5  # SageMaker nests SubExpressions at most this deep
MAX_FILTERS = 20


@dataclass(frozen=True)
class Condition:
    """`field operator value`; for tags, `field` is "Tags" and `value` is the key (Exists) or `key=value`."""

    field: str
    operator: str
    value: Any


@dataclass(frozen=True)
class NestedFilter:
    """Some element of the list `prop` meets every condition (each on one member of that element)."""

    prop: str
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Expression:
    conditions: tuple[Condition, ...] = ()
    subexpressions: tuple[Expression, ...] = ()
    any_of: bool = False  # Operator "Or"; "And" by default
    nested: tuple[NestedFilter, ...] = ()  # combined with the conditions by the same Operator

    @property
    def empty(self) -> bool:
        return not self.conditions and not self.subexpressions and not self.nested


def parse_expression(resource: Resource, raw: Any, path: str = "SearchExpression", depth: int = 1) -> Expression:
    """A SearchExpression, checked field by field; an unsupported part is refused naming its path."""
    if raw is None:
        return Expression()
    if not isinstance(raw, Mapping):
        raise ValidationFailed.field(path, "must be an object")
    if depth > MAX_DEPTH:
        raise ValidationFailed.field(path, f"SubExpressions nest at most {MAX_DEPTH} deep")
    nested = raw.get("NestedFilters") or []
    if not isinstance(nested, list) or len(nested) > MAX_FILTERS:
        raise ValidationFailed.field(f"{path}.NestedFilters", f"must be a list of at most {MAX_FILTERS}")
    operator = raw.get("Operator", "And")
    if operator not in ("And", "Or"):
        raise ValidationFailed.field(f"{path}.Operator", "must be And or Or")
    filters = raw.get("Filters") or []
    subs = raw.get("SubExpressions") or []
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        raise ValidationFailed.field(f"{path}.Filters", f"must be a list of at most {MAX_FILTERS} filters")
    if not isinstance(subs, list) or len(subs) > MAX_FILTERS:
        raise ValidationFailed.field(f"{path}.SubExpressions", f"must be a list of at most {MAX_FILTERS}")
    return Expression(
        tuple(parse_filter(resource, f, f"{path}.Filters[{i}]") for i, f in enumerate(filters)),
        tuple(parse_expression(resource, s, f"{path}.SubExpressions[{i}]", depth + 1) for i, s in enumerate(subs)),
        any_of=operator == "Or",
        nested=tuple(parse_nested(n, f"{path}.NestedFilters[{i}]") for i, n in enumerate(nested)),
    )


def parse_nested(raw: Any, path: str) -> NestedFilter:
    """One NestedFilters entry: {NestedPropertyName, Filters}, each filter on a member of that property."""
    if not isinstance(raw, Mapping):
        raise ValidationFailed.field(path, "must be {NestedPropertyName, Filters}")
    prop = raw.get("NestedPropertyName")
    members = NESTED.get(prop) if isinstance(prop, str) else None
    if members is None or not isinstance(prop, str):
        raise ValidationFailed.field(
            f"{path}.NestedPropertyName", f"nested filters apply to {', '.join(NESTED)} here", "UNSUPPORTED"
        )
    filters = raw.get("Filters")
    if not isinstance(filters, list) or not 1 <= len(filters) <= MAX_FILTERS:
        raise ValidationFailed.field(f"{path}.Filters", f"must list 1-{MAX_FILTERS} filters")
    conditions = []
    for i, f in enumerate(filters):
        where = f"{path}.Filters[{i}]"
        if not isinstance(f, Mapping) or f.get("Name") not in members:
            raise ValidationFailed.field(f"{where}.Name", f"must be one of {', '.join(members)}")
        operator = f.get("Operator", "Equals")
        if operator not in _NESTED_OPERATORS:
            raise ValidationFailed.field(f"{where}.Operator", f"must be one of {', '.join(_NESTED_OPERATORS)}")
        value = f.get("Value")
        if not isinstance(value, str):
            raise ValidationFailed.field(f"{where}.Value", f"is required (a string) for {operator}")
        typed: Any = [v.strip() for v in value.split(",")] if operator == "In" else value
        conditions.append(Condition(f["Name"], operator, typed))
    return NestedFilter(prop, tuple(conditions))


def parse_filter(resource: Resource, raw: Any, path: str) -> Condition:
    if not isinstance(raw, Mapping) or not isinstance(raw.get("Name"), str):
        raise ValidationFailed.field(path, "must be {Name, Operator, Value}")
    name: str = raw["Name"]
    operator = raw.get("Operator", "Equals")
    if operator not in OPERATORS:
        raise ValidationFailed.field(f"{path}.Operator", f"must be one of {', '.join(OPERATORS)}")
    raw_value = raw.get("Value")
    if operator not in ("Exists", "NotExists") and not isinstance(raw_value, str):
        raise ValidationFailed.field(f"{path}.Value", f"is required (a string) for {operator}")
    value = raw_value if isinstance(raw_value, str) else ""
    if name.startswith(TAG_PREFIX):
        key = name.removeprefix(TAG_PREFIX)
        if operator not in _TAG_OPERATORS or not key:
            raise ValidationFailed.field(f"{path}.Operator", f"tags support {', '.join(_TAG_OPERATORS)}")
        return Condition("Tags", operator, key if operator in ("Exists", "NotExists") else tag_string(key, value))
    kind = FIELDS[resource].get(name)
    if kind is None:
        known = ", ".join([*FIELDS[resource], "Tags.<key>"])
        raise ValidationFailed.field(f"{path}.Name", f"{name[:80]!r} is not searchable on {resource.value} ({known})")
    if operator in ("Exists", "NotExists"):
        return Condition(name, operator, None)
    if operator == "In":
        return Condition(name, operator, [_typed(kind, v.strip(), f"{path}.Value") for v in value.split(",")])
    if operator == "Contains" and kind is not FieldType.TEXT:
        raise ValidationFailed.field(f"{path}.Operator", f"Contains applies to text fields, not {name}")
    return Condition(name, operator, _typed(kind, value, f"{path}.Value"))


def _typed(kind: FieldType, value: str, path: str) -> Any:
    if kind is FieldType.NUMBER:
        try:
            return int(value)
        except ValueError:
            raise ValidationFailed.field(path, f"{value[:40]!r} is not an integer") from None
    if kind is FieldType.TIME:
        return parse_time(value, path)
    if kind is FieldType.STATUS:
        return approval_from_aws(value, path).value
    return value


def parse_time(value: str, path: str) -> datetime:
    """ISO 8601 or seconds since the epoch, as SageMaker accepts in filters."""
    try:
        return datetime.fromtimestamp(float(value), UTC)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationFailed.field(path, f"{value[:40]!r} is not a time (ISO 8601 or epoch seconds)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def all_of(*conditions: Condition | None) -> Expression:
    return Expression(tuple(c for c in conditions if c is not None))


def sort_field(resource: Resource, value: str | None) -> str:
    """SortBy: any non-tag searchable field (CreationTime by default)."""
    chosen = value or "CreationTime"
    if chosen not in FIELDS[resource]:
        raise ValidationFailed.field("SortBy", f"must be one of {', '.join(FIELDS[resource])}")
    return chosen
