"""Issuing and checking SigV4 access keys (see domain/access_keys.py for how secrets are protected)."""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from lineage_graph.domain.access_keys import AccessKey, derive_secret, fingerprint, new_access_key_id
from lineage_graph.domain.auth import Principal, Role
from lineage_graph.domain.errors import Unauthenticated
from lineage_graph.domain.registry import Checker
from lineage_graph.services.authorization import require
from lineage_graph.store.access_keys import AccessKeyStore


@dataclass(frozen=True)
class IssuedKey:
    key: AccessKey
    secret: str  # shown once, never stored


class AccessKeyService:
    def __init__(self, store: AccessKeyStore, master_key: bytes) -> None:
        self._store = store
        self._master_key = master_key

    async def issue(self, actor: Principal, name: str, role: Role, principal: str | None = None) -> IssuedKey:
        """A new key pair acting as `principal` (default: `name`) with `role`. Admins only."""
        require(actor, Role.ADMIN)
        check = Checker()
        check.text("name", name, 128, required=True)
        check.text("principal", principal, 128)
        check.done()
        key_id = new_access_key_id()
        secret = derive_secret(self._master_key, key_id)
        key = await self._store.create(key_id, name, principal or name, role, fingerprint(secret), actor.name)
        return IssuedKey(key, secret)

    async def keys(self, actor: Principal, include_revoked: bool = False) -> list[AccessKey]:
        """Every issued key, oldest first (fingerprints only: secrets are never stored). Admins only."""
        require(actor, Role.ADMIN)
        return await self._store.all(include_revoked)

    async def revoke(self, actor: Principal, access_key_id: str) -> AccessKey:
        require(actor, Role.ADMIN)
        return await self._store.revoke(access_key_id, actor.name)

    async def secret_for(self, access_key_id: str) -> tuple[Principal, str]:
        """The principal a key acts as and its secret, to recompute a signature; Unauthenticated when the key
        is unknown, revoked, or was issued under another master key."""
        key = await self._store.get(access_key_id)
        if key is None or key.revoked_at is not None:
            raise Unauthenticated(f"the access key {access_key_id[:32]} is not valid")
        secret = derive_secret(self._master_key, access_key_id)
        if not hmac.compare_digest(fingerprint(secret), key.secret_fingerprint):
            raise Unauthenticated(f"the access key {access_key_id[:32]} was issued under another master key")
        return key.as_principal, secret


def load_master_key(configured: str | None, data_dir: Path) -> bytes:
    """The configured master key, else the one in `data_dir/sigv4-master.key` (created once, mode 0600), so
    the server and the CLI that issues keys agree without the key ever being in the database."""
    if configured:
        return configured.encode()
    path = data_dir / "sigv4-master.key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
