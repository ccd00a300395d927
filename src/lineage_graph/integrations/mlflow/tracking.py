"""An MLflow tracking server read over its REST API (httpx): runs with their params, metrics, dataset inputs
and source tags, and — for the importer — registered models and versions of an MLflow registry."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from lineage_graph.domain.errors import Unavailable, ValidationFailed
from lineage_graph.domain.mlflow import MlflowDataset, MlflowRun
from lineage_graph.services.mlflow_import import SourceModel, SourceVersion

API = "/api/2.0/mlflow"


@dataclass
class MlflowTracking:
    """`base_url` is the tracking URI (`http://host:5000`); `token` is sent as MLflow sends MLFLOW_TRACKING_TOKEN."""

    base_url: str
    http: httpx.AsyncClient
    token: str | None = None
    _experiments: dict[str, str] | None = None

    @classmethod
    def connect(cls, base_url: str, token: str | None = None, timeout: float = 10.0) -> MlflowTracking:
        if not base_url.startswith(("http://", "https://")):
            raise ValidationFailed.field("trackingUri", f"{base_url!r} is not an http(s) URI of a tracking server")
        return cls(base_url.rstrip("/"), httpx.AsyncClient(timeout=timeout), token)

    async def close(self) -> None:
        await self.http.aclose()

    async def _get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            response = await self.http.get(f"{self.base_url}{API}{path}", params=dict(params), headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"the MLflow tracking server at {self.base_url} is unreachable: {exc}") from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            try:
                detail = response.json().get("message", response.text[:200])
            except ValueError:
                detail = response.text[:200]
            raise Unavailable(f"the MLflow tracking server answered {response.status_code}: {detail}")
        body: dict[str, Any] = response.json()
        return body

    async def _experiment(self, experiment_id: str) -> str:
        self._experiments = self._experiments or {}
        if experiment_id not in self._experiments:
            body = await self._get("/experiments/get", {"experiment_id": experiment_id})
            name = ((body or {}).get("experiment") or {}).get("name") or f"experiment-{experiment_id}"
            self._experiments[experiment_id] = str(name)
        return self._experiments[experiment_id]

    async def run(self, run_id: str) -> MlflowRun | None:
        body = await self._get("/runs/get", {"run_id": run_id})
        if body is None or "run" not in body:
            return None
        raw = body["run"]
        info, data, inputs = raw.get("info", {}), raw.get("data", {}), raw.get("inputs", {})
        return MlflowRun(
            run_id=str(info.get("run_id") or run_id),
            experiment=await self._experiment(str(info.get("experiment_id", "0"))),
            status=str(info.get("status", "")),
            start_ms=_int(info.get("start_time")),
            end_ms=_int(info.get("end_time")),
            params={p["key"]: str(p.get("value", "")) for p in data.get("params", [])},
            metrics=tuple((m["key"], float(m.get("value", 0.0)), _int(m.get("step"))) for m in data.get("metrics", [])),
            datasets=tuple(_dataset(d.get("dataset", {})) for d in inputs.get("dataset_inputs", [])),
            tags={t["key"]: str(t.get("value", "")) for t in data.get("tags", [])},
        )

    async def _pages(self, path: str, key: str, params: Mapping[str, Any]) -> AsyncIterator[dict[str, Any]]:
        token: str | None = None
        while True:
            body = await self._get(path, {**params, **({"page_token": token} if token else {})}) or {}
            for item in body.get(key, []):
                yield item
            token = body.get("next_page_token")
            if not token:
                return

    async def registered_models(self) -> AsyncIterator[SourceModel]:
        """Every registered model of the MLflow registry this server also serves (the importer's source)."""
        async for raw in self._pages("/registered-models/search", "registered_models", {"max_results": 1000}):
            yield SourceModel(
                name=str(raw["name"]),
                description=raw.get("description") or None,
                tags={t["key"]: str(t.get("value", "")) for t in raw.get("tags", [])},
                aliases={a["alias"]: int(a["version"]) for a in raw.get("aliases", [])},
                updated_ms=_int(raw.get("last_updated_timestamp")) or 0,
            )

    async def model_versions(self, name: str) -> AsyncIterator[SourceVersion]:
        escaped = name.replace("'", "\\'")
        async for raw in self._pages("/model-versions/search", "model_versions", {"filter": f"name='{escaped}'"}):
            yield SourceVersion(
                name=str(raw["name"]),
                version=int(raw["version"]),
                source=str(raw.get("source", "")),
                run_id=raw.get("run_id") or None,
                run_link=raw.get("run_link") or None,
                description=raw.get("description") or None,
                stage=str(raw.get("current_stage") or "None"),
                tags={t["key"]: str(t.get("value", "")) for t in raw.get("tags", [])},
            )


def _int(value: Any) -> int | None:
    return int(value) if value not in (None, "") else None


def _dataset(raw: Mapping[str, Any]) -> MlflowDataset:
    source: str | None = None
    try:
        parsed = json.loads(raw.get("source") or "{}")
        if isinstance(parsed, dict):
            found = parsed.get("uri") or parsed.get("url") or parsed.get("path")
            source = str(found) if found else None
    except ValueError:
        source = None
    return MlflowDataset(str(raw.get("name", "dataset")), str(raw.get("digest", "")), raw.get("source_type"), source)
