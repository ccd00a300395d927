"""Settings, read once from the environment when a command or app starts (never at import time)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from lineage_graph.domain.auth import Role
from lineage_graph.domain.tags import DEFAULT_GOVERNANCE_TAGS


def _env(name: str) -> AliasChoices:
    # The standard NEO4J_* names first, so a platform's existing Neo4j variables just work.
    return AliasChoices(name, f"LINEAGE_GRAPH_{name}")


NEO4J_SCHEMES = ("neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc")


class SettingsError(Exception):
    """The environment holds a setting the server cannot use; the message names it and its value."""


class Settings(BaseSettings):
    """Every knob of the server; README's configuration table lists them with their defaults."""

    model_config = SettingsConfigDict(
        env_prefix="LINEAGE_GRAPH_", extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    neo4j_uri: str | None = Field(default=None, validation_alias=_env("NEO4J_URI"))
    neo4j_user: str = Field(default="neo4j", validation_alias=_env("NEO4J_USER"))
    neo4j_password: str | None = Field(default=None, validation_alias=_env("NEO4J_PASSWORD"))
    neo4j_database: str = Field(default="neo4j", validation_alias=_env("NEO4J_DATABASE"))

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "info"
    # "auto": text at a terminal, one JSON object per line otherwise (docs/operations.md); or force either.
    log_format: Literal["auto", "json", "text"] = "auto"

    data_dir: Path = Path.home() / ".local" / "share" / "lineage-graph"
    cache_dir: Path = Path.home() / ".cache" / "lineage-graph"
    neo4j_bolt_port: int = Field(default=7687, ge=1, le=65535)
    neo4j_heap: str = "1g"
    neo4j_pagecache: str = "512m"
    # The managed Neo4j's JIT (neo4j_local.jit_for_machine): "auto" is "quick" on two cores or fewer.
    neo4j_jit: Literal["auto", "full", "quick"] = "auto"

    # Per-request budgets: an interactive API fails fast rather than queue behind a dead database.
    neo4j_connection_timeout: float = Field(default=2.0, gt=0)
    neo4j_acquire_timeout: float = Field(default=5.0, gt=0)
    neo4j_retry_time: float = Field(default=2.5, ge=0)
    neo4j_query_timeout: float = Field(default=15.0, gt=0)
    neo4j_pool_size: int = Field(default=50, ge=1)

    graphiql: bool = True
    introspection: bool = True
    # The built front end (explorer and GraphiQL assets); unset: web/dist of the source checkout.
    web_dir: Path | None = None

    # Authentication: callers without a token get this role; unset (the default) means they are refused.
    anonymous_role: Role | None = None

    # GraphQL hardening: a hostile document is refused before any resolver (or Neo4j) runs.
    graphql_max_body_bytes: int = Field(default=256 * 1024, ge=1024)  # the raw HTTP body of a POST
    # OpenLineage batches (up to 1000 events) are larger than GraphQL documents, but still bounded.
    ingest_max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    graphql_max_tokens: int = Field(default=5000, ge=10)  # lexer tokens in one document
    graphql_max_depth: int = Field(default=20, ge=2)  # selection levels, introspection included (GraphiQL's needs 15)
    graphql_max_aliases: int = Field(default=50, ge=1)  # aliased fields in one document
    # Estimated objects in one response (lists count `first` times; a lineage traversal 50): graphql/cost.py.
    graphql_max_cost: int = Field(default=10_000, ge=1)
    # Seconds a looked-up API token is trusted without asking Neo4j again (0: ask every request). A token
    # revoked through this process stops working at once; revoked through another instance, within this.
    token_cache_seconds: float = Field(default=5.0, ge=0, le=300)
    # Origins a browser may call the API from (CORS), comma-separated; empty (the default): CORS is off.
    cors_origins: str = ""
    # Seconds start-up may spend planning the lineage statements before serving (store/plans.py); 0: none.
    warm_up_seconds: float = Field(default=10.0, ge=0, le=600)

    # SigV4 secrets are derived from this key (see domain/access_keys.py); unset: a key file in data_dir.
    sigv4_master_key: SecretStr | None = None
    # S3 artifact verification at registration (head_object), off by default; endpoint for MinIO/moto.
    verify_s3_artifacts: bool = False
    s3_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    # The name the CLI's admin commands are audited under (as `operator:<name>`); unset: login@host.
    operator: str | None = None
    # Tags with governance meaning (docs/governance.md): set and cleared by approvers only. A JSON list.
    governance_tags: tuple[str, ...] = DEFAULT_GOVERNANCE_TAGS
    mlflow_tracking_uri: str | None = None  # the MLflow facade reads a registered version's run from here
    mlflow_tracking_token: SecretStr | None = None

    @field_validator("neo4j_uri")
    @classmethod
    def _bolt_scheme(cls, uri: str | None) -> str | None:
        # The driver would otherwise try an HTTP transport it does not have and fail 50 lines deep.
        if uri is not None and uri.partition("://")[0] not in NEO4J_SCHEMES:
            raise ValueError(f"a Neo4j URI starts with one of {', '.join(s + '://' for s in NEO4J_SCHEMES)}")
        return uri

    @model_validator(mode="after")
    def _password_with_uri(self) -> Settings:
        if self.neo4j_uri is not None and self.neo4j_password is None:
            raise ValueError(f"NEO4J_URI is set ({self.neo4j_uri}) but NEO4J_PASSWORD is not")
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    # The garbage collector's young-generation threshold (heap.py); 0 keeps CPython's default of 700.
    gc_young_threshold: int = Field(default=200_000, ge=0, le=10_000_000)

    # Events (docs/events.md): how often each instance polls the outbox for events to place and deliver.
    events_poll_interval: float = Field(default=0.2, gt=0, le=60)
    # How often events are placed while nothing reads the log soon (no webhook, no subscriber on this instance).
    events_idle_interval: float = Field(default=2.0, gt=0, le=60)
    webhook_timeout: float = Field(default=10.0, gt=0, le=120)  # one delivery's HTTP budget
    webhook_lease_seconds: float = Field(default=30.0, gt=0)  # a killed instance's deliveries resume after this
    # While an instance knows of no subscription: how often it looks for one created through another instance.
    webhook_refresh_seconds: float = Field(default=5.0, gt=0, le=300)
    webhook_max_attempts: int = Field(default=8, ge=1)  # failed attempts at one event before disabling
    webhook_backoff_base: float = Field(default=1.0, gt=0)  # seconds; doubles per failed attempt
    webhook_backoff_cap: float = Field(default=300.0, gt=0)
    # Receivers on link-local or cloud-metadata addresses are refused unless an admin turns this on.
    webhook_allow_link_local: bool = False

    @property
    def managed_neo4j(self) -> bool:
        """True when no NEO4J_URI is configured and the server runs its own local Neo4j."""
        return self.neo4j_uri is None


def load_settings() -> Settings:
    """Settings from the environment, or a `SettingsError` of one sentence per bad variable (no traceback)."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(error) for error in exc.errors())) from None


def _describe(error: Any) -> str:
    message = str(error["msg"]).removeprefix("Value error, ")
    if not error["loc"]:
        return message
    field = Settings.model_fields.get(str(error["loc"][0]))
    name = str(error["loc"][0])
    if field is not None:
        alias = field.validation_alias
        name = str(alias.choices[0]) if isinstance(alias, AliasChoices) else f"LINEAGE_GRAPH_{name.upper()}"
    return f"{name}={error['input']!r} is not valid: {message}"
