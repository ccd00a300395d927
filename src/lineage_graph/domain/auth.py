"""Who is calling: principals, their roles, and the API tokens that prove who they are.

The rules for what each role may do live in services/authorization.py.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from lineage_graph.domain.errors import ValidationFailed

TOKEN_PREFIX = "lgt_"  # noqa: S105 -- a public marker that starts every token, not a secret


class Role(Enum):
    """Ordered: each includes the ones before it (approving is checked explicitly, see `may_approve`)."""

    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    APPROVER = "approver"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def includes(self, other: Role) -> bool:
        return self.rank >= other.rank

    @classmethod
    def parse(cls, value: str, field: str = "role") -> Role:
        try:
            return cls(value.strip().lower())
        except ValueError:
            allowed = ", ".join(r.value for r in cls)
            raise ValidationFailed.field(field, f"{value!r} is not a role (one of {allowed})") from None


@dataclass(frozen=True)
class Principal:
    """An authenticated caller (a person or a pipeline), or the anonymous one.

    `role` is None for a caller with no permission at all: the anonymous caller when anonymous access is off.
    """

    name: str
    role: Role | None
    # Per-group roles that raise (never lower) the global role for that group, e.g. approver of one group.
    group_roles: Mapping[str, Role] = field(default_factory=dict)
    authenticated: bool = True

    def role_for(self, group: str | None) -> Role | None:
        granted = self.group_roles.get(group) if group is not None else None
        if granted is not None and (self.role is None or granted.rank > self.role.rank):
            return granted
        return self.role

    def may_approve(self, group: str | None) -> bool:
        """Approving needs the approver role itself (globally or for `group`): admin alone does not approve,
        so that administering tokens and policies and deciding on models stay separate duties."""
        granted = self.group_roles.get(group) if group is not None else None
        return Role.APPROVER in (self.role, granted)


SYSTEM = Principal(name="system", role=Role.ADMIN)
ANONYMOUS = Principal(name="anonymous", role=None, authenticated=False)


def anonymous(role: Role | None) -> Principal:
    """The caller without a token: `role` is what the server grants anonymous callers (None: nothing)."""
    return Principal(name="anonymous", role=role, authenticated=False)


def parse_group_roles(grants: list[str], field: str = "groupRoles") -> dict[str, Role]:
    """`GROUP=ROLE` strings (as typed on the command line) into a mapping; a malformed one names its index."""
    result: dict[str, Role] = {}
    for index, grant in enumerate(grants):
        group, sep, role = grant.partition("=")
        if not sep or not group.strip():
            raise ValidationFailed.field(f"{field}.{index}", f"{grant!r} is not GROUP=ROLE")
        result[group.strip()] = Role.parse(role, f"{field}.{index}")
    return result


def validate_principal_name(name: str, field: str = "name") -> str:
    name = name.strip()
    if not name or len(name) > 200 or any(ch.isspace() for ch in name):
        raise ValidationFailed.field(field, "a principal name is 1-200 characters without spaces")
    if name in {SYSTEM.name, ANONYMOUS.name}:
        raise ValidationFailed.field(field, f"{name!r} is reserved")
    return name


def mint_token() -> str:
    """A new API token: 256 bits from the OS's CSPRNG behind a recognisable prefix (so secret scanners and
    people can tell what it is)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The only form of a token the database keeps.

    Plain SHA-256 suffices because the token is 256 random bits, not a password: no dictionary or brute force
    can reach it however fast the hash, so a slow salted hash (bcrypt, argon2) would add nothing but cost on
    every request. An unsalted hash is deterministic, so a request finds its token by a unique-index lookup.
    """
    return hashlib.sha256(token.encode()).hexdigest()


def new_token_id() -> str:
    """A short public handle for listing and revoking a token; unrelated to the secret."""
    return secrets.token_hex(6)


@dataclass(frozen=True)
class ApiToken:
    """A token as listed: everything but the secret (which is never stored) and its hash."""

    token_id: str
    principal: Principal
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class IssuedToken:
    """The result of creating a token: the secret, shown to the caller once and never again."""

    secret: str
    token: ApiToken
