"""SigV4 access keys: an id shown to everyone, a secret shown once, both bound to a principal and a role.

SigV4 is an HMAC scheme, so verifying a signature needs the secret itself, not a hash of it. Instead of
storing secrets, the server derives each one from a master key it alone holds:
secret = HMAC-SHA256(master key, access key id). The database keeps only a SHA-256 fingerprint of the secret
(to notice a wrong or rotated master key), so a copy of the database reveals no usable credential, and
rotating the master key revokes every issued secret at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from lineage_graph.domain.auth import Principal, Role

KEY_ID_PREFIX = "LGAK"
_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class AccessKey:
    access_key_id: str
    name: str
    principal: str
    role: Role
    secret_fingerprint: str
    created_by: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def as_principal(self) -> Principal:
        return Principal(name=self.principal, role=self.role)


def new_access_key_id() -> str:
    """20 characters like AWS's: a fixed prefix and 16 random upper-case letters and digits."""
    return KEY_ID_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(16))


def derive_secret(master_key: bytes, access_key_id: str) -> str:
    digest = hmac.new(master_key, b"lineage-graph sigv4 " + access_key_id.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()[:40]


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
