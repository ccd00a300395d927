"""A group's registration contract: what every new version must carry so versions stay comparable.

Required metrics (on a split), hyperparameters of a type, custom properties with allowed values or a
pattern, lineage (training data, code, the producing run), a tag vocabulary and an alias naming pattern.
Pure rules: `check_registration` lists every violation with its field; the store only persists contracts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from lineage_graph.domain.errors import Problem, ValidationFailed
from lineage_graph.domain.models import Metric
from lineage_graph.domain.patterns import full_match, pattern_problem

MAX_RULES = 50
MAX_ALLOWED_VALUES = 100
_NAME = re.compile(r"[\w.:/@-]{1,128}")
_TAG = re.compile(r"[\w.:/=+@-]{1,128}")


class ValueType(Enum):
    STRING = "STRING"
    INTEGER = "INTEGER"
    NUMBER = "NUMBER"
    BOOLEAN = "BOOLEAN"

    def accepts(self, value: Any) -> bool:
        if self is ValueType.BOOLEAN:
            return isinstance(value, bool)
        if isinstance(value, bool):
            return False  # JSON true is not the number 1
        if self is ValueType.INTEGER:
            return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if self is ValueType.NUMBER:
            return isinstance(value, int | float)
        return isinstance(value, str)


class ContractMode(Enum):
    """What a registration that breaks the contract does: refused (every door), or recorded with its
    violations (the importer's explicit choice, so a history can be brought in as it was)."""

    REFUSE = "REFUSE"
    FLAG = "FLAG"


@dataclass(frozen=True)
class RequiredMetric:
    name: str
    split: str | None = None

    def __str__(self) -> str:
        return f"{self.name} on {self.split}" if self.split else self.name


@dataclass(frozen=True)
class RequiredHyperparameter:
    name: str
    type: ValueType = ValueType.STRING


@dataclass(frozen=True)
class RequiredProperty:
    name: str
    allowed_values: tuple[str, ...] = ()
    pattern: str | None = None


@dataclass(frozen=True)
class RegistrationContract:
    """The rules. An empty contract demands nothing (every group has one, version 0, until an admin sets it)."""

    required_metrics: tuple[RequiredMetric, ...] = ()
    required_hyperparameters: tuple[RequiredHyperparameter, ...] = ()
    required_properties: tuple[RequiredProperty, ...] = ()
    require_training_data: bool = False
    require_code_version: bool = False
    require_producing_run: bool = False
    tag_vocabulary: tuple[str, ...] = ()  # empty: any tag
    alias_pattern: str | None = None

    def to_json(self) -> str:
        data = asdict(self)
        data["required_hyperparameters"] = [
            {"name": h.name, "type": h.type.value} for h in self.required_hyperparameters
        ]
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> RegistrationContract:
        if not text:
            return cls()
        data: dict[str, Any] = json.loads(text)
        return cls(
            required_metrics=tuple(RequiredMetric(**m) for m in data.get("required_metrics", ())),
            required_hyperparameters=tuple(
                RequiredHyperparameter(h["name"], ValueType(h["type"]))
                for h in data.get("required_hyperparameters", ())
            ),
            required_properties=tuple(
                RequiredProperty(p["name"], tuple(p.get("allowed_values") or ()), p.get("pattern"))
                for p in data.get("required_properties", ())
            ),
            require_training_data=bool(data.get("require_training_data")),
            require_code_version=bool(data.get("require_code_version")),
            require_producing_run=bool(data.get("require_producing_run")),
            tag_vocabulary=tuple(data.get("tag_vocabulary") or ()),
            alias_pattern=data.get("alias_pattern"),
        )

    def validate(self) -> None:
        """Refuse a nonsensical or hostile contract when it is set, naming the field."""
        problems: list[Problem] = []
        for path, rules in (
            ("requiredMetrics", self.required_metrics),
            ("requiredHyperparameters", self.required_hyperparameters),
            ("requiredProperties", self.required_properties),
            ("tagVocabulary", self.tag_vocabulary),
        ):
            if len(rules) > MAX_RULES:
                problems.append(Problem(path, f"at most {MAX_RULES} entries", "TOO_MANY"))
        for i, m in enumerate(self.required_metrics):
            if not _NAME.fullmatch(m.name):
                problems.append(Problem(f"requiredMetrics[{i}].name", "must be a metric name (1-128 characters)"))
            if m.split is not None and not _NAME.fullmatch(m.split):
                problems.append(Problem(f"requiredMetrics[{i}].split", "must be a split name (1-128 characters)"))
        for i, h in enumerate(self.required_hyperparameters):
            if not _NAME.fullmatch(h.name):
                problems.append(Problem(f"requiredHyperparameters[{i}].name", "must be a name (1-128 characters)"))
        for i, p in enumerate(self.required_properties):
            if not p.name or len(p.name) > 128:
                problems.append(Problem(f"requiredProperties[{i}].name", "must be 1-128 characters"))
            if len(p.allowed_values) > MAX_ALLOWED_VALUES:
                problems.append(
                    Problem(f"requiredProperties[{i}].allowedValues", f"at most {MAX_ALLOWED_VALUES}", "TOO_MANY")
                )
            if p.allowed_values and p.pattern is not None:
                problems.append(
                    Problem(f"requiredProperties[{i}].pattern", "give allowed values or a pattern, not both")
                )
            if p.pattern is not None and (why := pattern_problem(p.pattern)):
                problems.append(Problem(f"requiredProperties[{i}].pattern", why, "UNSAFE_PATTERN"))
        for i, tag in enumerate(self.tag_vocabulary):
            if not _TAG.fullmatch(tag):
                problems.append(Problem(f"tagVocabulary[{i}]", "a tag is 1-128 letters, digits or . : / = + @ - _"))
        if self.alias_pattern is not None and (why := pattern_problem(self.alias_pattern)):
            problems.append(Problem("aliasPattern", why, "UNSAFE_PATTERN"))
        if problems:
            raise ValidationFailed.of(problems)


@dataclass(frozen=True)
class ContractVersion:
    """One saved contract of a group: versions count 1, 2, 3…; a model version records the one it met."""

    group: str
    version: int
    contract: RegistrationContract
    created_by: str | None
    created_at: datetime | None


@dataclass(frozen=True)
class RegistrationFacts:
    """What a registration brings, as the contract sees it (lineage already resolved through the run)."""

    metrics: tuple[Metric, ...] = ()
    hyperparameters: Mapping[str, Any] = field(default_factory=dict)
    custom_properties: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    has_training_data: bool = False
    has_code_version: bool = False
    has_producing_run: bool = False


def check_registration(contract: RegistrationContract, facts: RegistrationFacts) -> list[Problem]:
    """Every way `facts` break `contract`, each naming the field and the rule."""
    problems: list[Problem] = []
    for req in contract.required_metrics:
        if not any(m.name == req.name and (req.split is None or m.split == req.split) for m in facts.metrics):
            problems.append(
                Problem(f"metrics.{req.name}", f"the contract requires the metric {req}", "CONTRACT_METRIC_MISSING")
            )
    for hp in contract.required_hyperparameters:
        if hp.name not in facts.hyperparameters:
            problems.append(
                Problem(
                    f"hyperparameters.{hp.name}",
                    f"the contract requires the hyperparameter {hp.name} ({hp.type.value.lower()})",
                    "CONTRACT_HYPERPARAMETER_MISSING",
                )
            )
        elif not hp.type.accepts(facts.hyperparameters[hp.name]):
            problems.append(
                Problem(
                    f"hyperparameters.{hp.name}",
                    f"must be of type {hp.type.value.lower()} (got {json.dumps(facts.hyperparameters[hp.name])[:60]})",
                    "CONTRACT_HYPERPARAMETER_TYPE",
                )
            )
    problems += _property_problems(contract.required_properties, facts.custom_properties)
    for needed, present, path, what in (
        (contract.require_training_data, facts.has_training_data, "trainedOn", "a training dataset version"),
        (contract.require_code_version, facts.has_code_version, "code", "a code version"),
        (contract.require_producing_run, facts.has_producing_run, "producedBy", "the producing run"),
    ):
        if needed and not present:
            problems.append(Problem(path, f"the contract requires {what}", "CONTRACT_LINEAGE_MISSING"))
    problems += check_tags(contract, facts.tags)
    return problems


def _property_problems(rules: Sequence[RequiredProperty], props: Mapping[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    for rule in rules:
        path = f"customProperties.{rule.name}"
        value = props.get(rule.name)
        if value is None:
            problems.append(
                Problem(path, f"the contract requires the property {rule.name}", "CONTRACT_PROPERTY_MISSING")
            )
        elif rule.allowed_values and value not in rule.allowed_values:
            problems.append(
                Problem(path, f"must be one of {', '.join(rule.allowed_values)} (got {value[:60]!r})", "CONTRACT_VALUE")
            )
        elif rule.pattern is not None and not full_match(rule.pattern, value):
            problems.append(Problem(path, f"must match {rule.pattern} (got {value[:60]!r})", "CONTRACT_VALUE"))
    return problems


def check_tags(contract: RegistrationContract, tags: Sequence[str], path: str = "tags") -> list[Problem]:
    if not contract.tag_vocabulary:
        return []
    return [
        Problem(f"{path}[{i}]", f"{tag!r} is not in the group's tag vocabulary", "CONTRACT_TAG")
        for i, tag in enumerate(tags)
        if tag not in contract.tag_vocabulary
    ]


def check_alias(contract: RegistrationContract, alias: str, path: str = "alias") -> list[Problem]:
    if contract.alias_pattern is None or full_match(contract.alias_pattern, alias):
        return []
    return [Problem(path, f"must match the group's alias pattern {contract.alias_pattern}", "CONTRACT_ALIAS")]
