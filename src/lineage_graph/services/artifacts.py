"""Artifact verification: at registration, an `s3://` artifact must exist and match its declared digest;
later, approved versions' artifacts are re-checked for drift (deleted or overwritten objects)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.ids import NodeRef
from lineage_graph.domain.models import ApprovalStatus, ModelVersion
from lineage_graph.services.authorization import require
from lineage_graph.services.registry import MAX_PAGE, RegistryService, page
from lineage_graph.store.registry import VersionFilter

SHA256 = "sha256:"


@dataclass(frozen=True)
class ObjectHead:
    """What the object store says about an object; `sha256` (hex) only when it keeps a full-object one."""

    size: int
    etag: str | None
    sha256: str | None


class ObjectHeads(Protocol):
    """Looks objects up by URI (blocking: boto3). None when the object does not exist."""

    def handles(self, uri: str) -> bool: ...

    def head(self, uri: str) -> ObjectHead | None: ...


@dataclass(frozen=True)
class VerifiedArtifact:
    size: int
    etag: str | None
    digest: str | None  # the declared digest, or S3's SHA-256 when none was declared


@dataclass(frozen=True)
class ArtifactDrift:
    version: NodeRef
    uri: str
    problem: str  # MISSING, SIZE_CHANGED, ETAG_CHANGED, DIGEST_CHANGED
    detail: str


@dataclass(frozen=True)
class VerificationReport:
    checked: int
    skipped: int  # versions whose artifact is not in a store we can check
    drift: list[ArtifactDrift]


class ArtifactVerifier:
    def __init__(self, heads: ObjectHeads) -> None:
        self._heads = heads

    async def verify(self, uri: str, declared_digest: str | None) -> VerifiedArtifact | None:
        """None for URIs this verifier does not handle; ValidationFailed naming `artifactUri` (missing) or
        `artifactDigest` (mismatch) otherwise, before anything is written."""
        if not self._heads.handles(uri):
            return None
        head = await asyncio.to_thread(self._heads.head, uri)
        if head is None:
            raise ValidationFailed.field(
                "artifactUri", f"{uri} does not exist (S3 head_object found no object)", "NOT_FOUND"
            )
        declared = declared_digest or ""
        if declared.startswith(SHA256) and head.sha256 is not None and declared[len(SHA256) :].lower() != head.sha256:
            message = f"{declared} does not match the SHA-256 checksum S3 holds for {uri} (sha256:{head.sha256})"
            raise ValidationFailed.field("artifactDigest", message, "DIGEST_MISMATCH")
        digest = declared_digest or (SHA256 + head.sha256 if head.sha256 else None)
        return VerifiedArtifact(head.size, head.etag, digest)

    async def drift_of(self, version: ModelVersion) -> ArtifactDrift | bool | None:
        """The drift of one version's artifact; False when it cannot be checked here, None when unchanged."""
        uri = version.artifact_uri
        if not self._heads.handles(uri):
            return False
        head = await asyncio.to_thread(self._heads.head, uri)
        if head is None:
            return ArtifactDrift(version.ref, uri, "MISSING", "the object no longer exists")
        if version.artifact_size is not None and head.size != version.artifact_size:
            return ArtifactDrift(
                version.ref, uri, "SIZE_CHANGED", f"recorded {version.artifact_size} bytes, now {head.size}"
            )
        if version.artifact_etag is not None and head.etag != version.artifact_etag:
            return ArtifactDrift(version.ref, uri, "ETAG_CHANGED", f"recorded {version.artifact_etag}, now {head.etag}")
        digest = version.artifact_digest
        if digest and digest.startswith(SHA256) and head.sha256 and digest[len(SHA256) :].lower() != head.sha256:
            return ArtifactDrift(version.ref, uri, "DIGEST_CHANGED", f"recorded {digest}, now sha256:{head.sha256}")
        return None


class ArtifactService:
    """Re-verifies the artifacts of versions (by default the approved ones) against the object store."""

    def __init__(self, verifier: ArtifactVerifier, registry: RegistryService) -> None:
        self._verifier = verifier
        self._registry = registry

    async def reverify(
        self, actor: Principal, status: ApprovalStatus | None = ApprovalStatus.APPROVED
    ) -> VerificationReport:
        require(actor, Role.VIEWER)
        checked = skipped = 0
        drift: list[ArtifactDrift] = []
        offset = 0
        while True:
            versions, total = await self._registry.list_versions(
                actor, VersionFilter(approval_status=status), "CREATED_AT", False, page(MAX_PAGE, offset)
            )
            for version in versions:
                found = await self._verifier.drift_of(version)
                if found is False:
                    skipped += 1
                    continue
                checked += 1
                if isinstance(found, ArtifactDrift):
                    drift.append(found)
            offset += len(versions)
            if not versions or offset >= total:
                return VerificationReport(checked, skipped, drift)
