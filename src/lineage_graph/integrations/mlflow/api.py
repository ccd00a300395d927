"""MLflow's model registry REST API (`/api/2.0/mlflow/registered-models/*`, `/model-versions/*`) under the
`/mlflow` prefix, so `mlflow.set_registry_uri("http://host:8000/mlflow")` talks to this registry.

Translation only: arguments come from the query string (GET) or the JSON body, each operation is one call of
the MLflow registry service, and refusals come back in MLflow's error shape (`error_code`, `message`) with the
status its client expects, so `mlflow` raises its usual `MlflowException`/`RestException`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from lineage_graph.domain.auth import ANONYMOUS, Principal
from lineage_graph.domain.errors import (
    AlreadyExists,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PolicyNotMet,
    Unauthenticated,
    Unavailable,
    ValidationFailed,
)
from lineage_graph.integrations.mlflow import shapes
from lineage_graph.integrations.refusals import ErrorCodes
from lineage_graph.services.container import Services
from lineage_graph.services.mlflow_registry import MlflowRegistryService

PREFIX = "/mlflow"
MAX_BODY = 1024 * 1024

# Our refusals -> MLflow's error codes and the HTTP statuses its server uses for them. A refused stage
# transition (four-eyes, unmet policy) is a permission the caller does not have for this version now.
_MLFLOW_ERRORS = ErrorCodes(
    [
        (ValidationFailed, "INVALID_PARAMETER_VALUE", 400),
        (NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
        (AlreadyExists, "RESOURCE_ALREADY_EXISTS", 400),
        (Conflict, "INVALID_STATE", 400),
        (PolicyNotMet, "PERMISSION_DENIED", 403),
        (Forbidden, "PERMISSION_DENIED", 403),
        (Unauthenticated, "UNAUTHENTICATED", 401),
        (Unavailable, "TEMPORARILY_UNAVAILABLE", 503),
    ],
    fallback=("INVALID_PARAMETER_VALUE", 400),
)


def mlflow_error(code: str, message: str, status: int) -> Response:
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


def _domain_error(exc: DomainError) -> Response:
    refusal = _MLFLOW_ERRORS.refusal(exc)
    return mlflow_error(refusal.code, refusal.message, refusal.status)


class Args:
    """An operation's arguments, from the query string or the JSON body; missing or mistyped ones are
    INVALID_PARAMETER_VALUE naming the parameter, as MLflow's server reports them."""

    def __init__(self, values: Mapping[str, Any], lists: Mapping[str, list[str]] | None = None) -> None:
        self.values = values
        self.lists = lists or {}

    def text(self, key: str, required: bool = True) -> str | None:
        value = self.values.get(key)
        if value is None or value == "":
            if required:
                raise ValidationFailed.field(key, f"Missing value for required parameter '{key}'", "REQUIRED")
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)  # versions may come as numbers
        if not isinstance(value, str):
            raise ValidationFailed.field(key, f"Invalid value for parameter '{key}': expected a string")
        return value

    def need(self, key: str) -> str:
        value = self.text(key)
        assert value is not None  # text(required=True) raised otherwise
        return value

    def number(self, key: str) -> int | None:
        value = self.values.get(key)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValidationFailed.field(
                key, f"Invalid value {value!r} for parameter '{key}': expected an integer"
            ) from None

    def strings(self, key: str) -> list[str]:
        if key in self.lists:
            return self.lists[key]
        value = self.values.get(key) or []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationFailed.field(key, f"Invalid value for parameter '{key}': expected a list of strings")
        return value

    def tags(self, key: str = "tags") -> dict[str, str]:
        raw = self.values.get(key) or []
        if not isinstance(raw, list) or not all(isinstance(t, dict) and isinstance(t.get("key"), str) for t in raw):
            raise ValidationFailed.field(key, f"Invalid value for parameter '{key}': expected [{{key, value}}]")
        return {t["key"]: str(t.get("value") or "") for t in raw}


Handler = Callable[[MlflowRegistryService, Principal, Args], Awaitable[dict[str, Any]]]


async def _create_model(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    model = await mlf.create_registered_model(who, a.need("name"), a.text("description", False), a.tags())
    return {"registered_model": shapes.registered_model(model)}


async def _get_model(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    return {"registered_model": shapes.registered_model(await mlf.registered_model(who, a.need("name")))}


async def _update_model(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    model = await mlf.update_registered_model(who, a.need("name"), a.text("description", False))
    return {"registered_model": shapes.registered_model(model)}


async def _rename_model(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    a.need("name")
    raise ValidationFailed.field(
        "new_name", "registered models cannot be renamed here: the name is the group's identity in lineage and audit"
    )


async def _delete_model(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    await mlf.delete_registered_model(who, a.need("name"))
    return {}


async def _search_models(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    found = await mlf.search_registered_models(
        who, a.text("filter", False), a.number("max_results"), a.strings("order_by"), a.text("page_token", False)
    )
    body: dict[str, Any] = {"registered_models": [shapes.registered_model(m) for m in found.items]}
    if found.next_page_token:
        body["next_page_token"] = found.next_page_token
    return body


async def _latest(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    versions = await mlf.latest_versions(who, a.need("name"), a.strings("stages"))
    return {"model_versions": [shapes.model_version(v) for v in versions]}


async def _set_model_tag(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    await mlf.set_registered_model_tag(who, a.need("name"), a.need("key"), a.text("value", False) or "")
    return {}


async def _delete_model_tag(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    await mlf.delete_registered_model_tag(who, a.need("name"), a.need("key"))
    return {}


async def _create_version(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    version = await mlf.create_model_version(
        who,
        a.need("name"),
        a.need("source"),
        a.text("run_id", False),
        a.tags(),
        a.text("run_link", False),
        a.text("description", False),
        a.text("model_id", False),
    )
    return {"model_version": shapes.model_version(version)}


async def _get_version(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    return {"model_version": shapes.model_version(await mlf.model_version(who, a.need("name"), a.need("version")))}


async def _update_version(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    version = await mlf.update_model_version(who, a.need("name"), a.need("version"), a.text("description", False))
    return {"model_version": shapes.model_version(version)}


async def _delete_version(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    await mlf.delete_model_version(who, a.need("name"), a.need("version"))
    return {}


async def _search_versions(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    found = await mlf.search_model_versions(
        who, a.text("filter", False), a.number("max_results"), a.strings("order_by"), a.text("page_token", False)
    )
    body: dict[str, Any] = {"model_versions": [shapes.model_version(v) for v in found.items]}
    if found.next_page_token:
        body["next_page_token"] = found.next_page_token
    return body


async def _download_uri(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    return {"artifact_uri": await mlf.download_uri(who, a.need("name"), a.need("version"))}


async def _transition(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    version = await mlf.transition_stage(who, a.need("name"), a.need("version"), a.need("stage"))
    return {"model_version": shapes.model_version(version)}


async def _set_version_tag(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    await mlf.set_model_version_tag(who, a.need("name"), a.need("version"), a.need("key"), a.text("value", False) or "")
    return {}


async def _delete_version_tag(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    await mlf.delete_model_version_tag(who, a.need("name"), a.need("version"), a.need("key"))
    return {}


async def _set_alias(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    await mlf.set_alias(who, a.need("name"), a.need("alias"), a.need("version"))
    return {}


async def _delete_alias(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    await mlf.delete_alias(who, a.need("name"), a.need("alias"))
    return {}


async def _by_alias(mlf: MlflowRegistryService, who: Principal, a: Args) -> dict[str, Any]:
    return {"model_version": shapes.model_version(await mlf.version_by_alias(who, a.need("name"), a.need("alias")))}


# (HTTP method, path under /api/2.0/mlflow/) -> operation, as model_registry.proto declares them.
OPERATIONS: dict[tuple[str, str], Handler] = {
    ("POST", "registered-models/create"): _create_model,
    ("GET", "registered-models/get"): _get_model,
    ("PATCH", "registered-models/update"): _update_model,
    ("POST", "registered-models/rename"): _rename_model,
    ("DELETE", "registered-models/delete"): _delete_model,
    ("GET", "registered-models/search"): _search_models,
    ("POST", "registered-models/get-latest-versions"): _latest,
    ("GET", "registered-models/get-latest-versions"): _latest,
    ("POST", "registered-models/set-tag"): _set_model_tag,
    ("DELETE", "registered-models/delete-tag"): _delete_model_tag,
    ("POST", "registered-models/alias"): _set_alias,
    ("DELETE", "registered-models/alias"): _delete_alias,
    ("GET", "registered-models/alias"): _by_alias,
    ("POST", "model-versions/create"): _create_version,
    ("GET", "model-versions/get"): _get_version,
    ("PATCH", "model-versions/update"): _update_version,
    ("DELETE", "model-versions/delete"): _delete_version,
    ("GET", "model-versions/search"): _search_versions,
    ("GET", "model-versions/get-download-uri"): _download_uri,
    ("POST", "model-versions/transition-stage"): _transition,
    ("POST", "model-versions/set-tag"): _set_version_tag,
    ("DELETE", "model-versions/delete-tag"): _delete_version_tag,
}


async def _arguments(request: Request) -> Args:
    if request.method == "GET":
        query = request.query_params
        return Args(dict(query), {k: query.getlist(k) for k in ("order_by", "stages") if k in query})
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ValidationFailed.field("body", f"the request body exceeds {MAX_BODY} bytes", "TOO_LARGE")
    if not body.strip():
        return Args({})
    try:
        values = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed.field("body", "the request body is not JSON") from None
    if not isinstance(values, dict):
        raise ValidationFailed.field("body", "the request body must be a JSON object")
    return Args(values)


async def mlflow_endpoint(request: Request) -> Response:
    """`/mlflow/api/2.0/mlflow/{operation}`: one MLflow registry call."""
    handler = OPERATIONS.get((request.method, request.path_params["operation"]))
    if handler is None:
        message = f"No API endpoint {request.method} {request.url.path} in this model registry"
        return mlflow_error("ENDPOINT_NOT_FOUND", message, 404)
    services: Services = request.state.services
    principal: Principal = getattr(request.state, "principal", ANONYMOUS)
    try:
        services.mlflow.check_access(principal)  # before the body is read
        return JSONResponse(await handler(services.mlflow, principal, await _arguments(request)))
    except DomainError as exc:
        return _domain_error(exc)
