"""Bearer tokens over real HTTP: who gets in, who is refused (401 or a typed error), and nothing written."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from neo4j import Driver

from lineage_graph.config import Settings
from lineage_graph.domain.auth import Role, hash_token
from lineage_graph.graphql.schema import build_schema
from tests.support import SESSION_ADMIN, GraphQLClient, bearer, live_server

CREATE_TOKEN = """
mutation($name: String!, $role: Role!, $grants: [GroupRoleInput!]) {
  createApiToken(name: $name, role: $role, groupRoles: $grants) {
    secret
    token { tokenId active principal { name role groupRoles { group role } } }
  }
}
"""
REVOKE = "mutation($id: String!) { revokeApiToken(tokenId: $id) { tokenId active revokedBy } }"


def _count(db: Driver, cypher: str) -> int:
    return int(db.execute_query(cypher).records[0][0])


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def _writes(db: Driver) -> tuple[int, int, int]:
    return (
        _count(db, "MATCH (t:ApiToken) RETURN count(t)"),
        _count(db, "MATCH (p:Principal) RETURN count(p)"),
        _count(db, "MATCH (e:AuditEvent) RETURN count(e)"),
    )


def test_the_default_client_is_the_session_admin(gql: GraphQLClient) -> None:
    me = gql.data("{ me { name role authenticated } }")["me"]
    assert me == {"name": SESSION_ADMIN, "role": "ADMIN", "authenticated": True}


def _root_field_documents() -> list[tuple[str, str]]:
    """One document per root Query and Mutation field of the whole schema, every argument a declared variable
    (left unset: the gate must refuse before variables are even coerced), so fields added later are covered."""
    from graphql import get_named_type, is_leaf_type

    schema = build_schema()._schema
    documents = []
    for keyword, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for name, field in (root.fields if root else {}).items():
            declared = ", ".join(f"$a{i}: {arg.type}" for i, arg in enumerate(field.args.values()))
            passed = ", ".join(f"{arg}: $a{i}" for i, arg in enumerate(field.args))
            call = f"{name}({passed})" if passed else name
            selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
            documents.append((name, f"{keyword}{f'({declared})' if declared else ''} {{ {call}{selection} }}"))
    return documents


def test_without_a_token_every_root_field_is_unauthenticated(anonymous_http: httpx.Client, db: Driver) -> None:
    def refused(document: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        # Nothing is open to anonymous callers by default, so the transport says so: 401 with a challenge.
        response = anonymous_http.post("/graphql", json={"query": document, "variables": variables or {}})
        assert response.status_code == 401, response.text
        assert response.headers["www-authenticate"].startswith("Bearer")
        body: dict[str, Any] = response.json()
        return body

    documents = _root_field_documents()
    assert {"me", "auditLog", "createApiToken", "revokeApiToken"} <= {name for name, _ in documents}
    for name, document in documents:
        body = refused(document)
        assert body["data"] is None, (name, body)
        assert _code(body) == "UNAUTHENTICATED", (name, body)
    body = refused(CREATE_TOKEN, {"name": "eve", "role": "ADMIN"})
    assert _code(body) == "UNAUTHENTICATED"
    assert body["errors"][0]["extensions"]["problems"][0]["code"] == "UNAUTHENTICATED"
    assert _writes(db) == (1, 1, 0), "only the session admin; nothing written"


@pytest.mark.parametrize(
    "authorization",
    ["Bearer lgt_not-a-real-token-at-all-00000000000000000000", "Bearer nonsense", "Bearer lgt_", "bearer lgt_x"],
)
def test_an_invalid_token_is_a_401_with_a_json_error(base_url: str, db: Driver, authorization: str) -> None:
    response = httpx.post(
        f"{base_url}/graphql", json={"query": "{ me { name } }"}, headers={"Authorization": authorization}
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    body = response.json()
    assert _code(body) == "UNAUTHENTICATED"
    assert body["errors"][0]["extensions"]["problems"] == [
        {"field": "Authorization", "message": body["errors"][0]["message"], "code": "INVALID_TOKEN"}
    ]


def test_probes_need_no_token(anonymous_http: httpx.Client) -> None:
    assert anonymous_http.get("/healthz").status_code == 200
    assert anonymous_http.get("/readyz").status_code == 200
    assert anonymous_http.get("/healthz", headers={"Authorization": "Bearer junk"}).status_code == 200


def test_an_admin_issues_a_token_that_works_and_is_stored_only_as_a_hash(
    gql: GraphQLClient, base_url: str, db: Driver
) -> None:
    issued = gql.data(
        CREATE_TOKEN, {"name": "trainer", "role": "CONTRIBUTOR", "grants": [{"group": "fraud", "role": "APPROVER"}]}
    )["createApiToken"]
    secret = issued["secret"]
    assert issued["token"]["principal"] == {
        "name": "trainer",
        "role": "CONTRIBUTOR",
        "groupRoles": [{"group": "fraud", "role": "APPROVER"}],
    }
    with httpx.Client(base_url=base_url, headers=bearer(secret)) as http:
        assert GraphQLClient(http).data("{ me { name role } }")["me"] == {"name": "trainer", "role": "CONTRIBUTOR"}

    stored = db.execute_query(
        "MATCH (t:ApiToken {token_id: $id}) RETURN properties(t) AS p", id=issued["token"]["tokenId"]
    ).records[0]["p"]
    assert stored["token_hash"] == hash_token(secret)
    assert secret not in {str(v) for v in stored.values()}
    everything = db.execute_query("MATCH (n) RETURN properties(n) AS p").records
    assert not any(secret in str(record["p"]) for record in everything), "the secret is nowhere in the graph"

    listed = gql.data("{ apiTokens { tokenId principal { name } } }")["apiTokens"]
    assert issued["token"]["tokenId"] in {t["tokenId"] for t in listed}
    assert "secret" not in str(listed)

    event = db.execute_query(
        "MATCH (e:AuditEvent) RETURN e.action AS action, e.actor AS actor, e.subject AS subject, e.payload AS payload"
    ).records
    assert [(r["action"], r["actor"], r["subject"]) for r in event] == [
        ("token.create", SESSION_ADMIN, "Principal:trainer")
    ]
    assert secret not in event[0]["payload"]


def test_a_revoked_token_is_refused_at_once_and_the_revocation_is_audited(
    gql: GraphQLClient, make_token: Callable[..., str], base_url: str, db: Driver
) -> None:
    secret = make_token("pipeline", Role.CONTRIBUTOR)
    token_id = db.execute_query(
        "MATCH (t:ApiToken {token_hash: $h}) RETURN t.token_id AS id", h=hash_token(secret)
    ).records[0]["id"]
    with httpx.Client(base_url=base_url, headers=bearer(secret)) as http:
        assert http.post("/graphql", json={"query": "{ me { name } }"}).status_code == 200
        revoked = gql.data(REVOKE, {"id": token_id})["revokeApiToken"]
        assert revoked == {"tokenId": token_id, "active": False, "revokedBy": SESSION_ADMIN}
        response = http.post("/graphql", json={"query": "{ me { name } }"})
        assert response.status_code == 401
    actions = [r["a"] for r in db.execute_query("MATCH (e:AuditEvent) RETURN e.action AS a ORDER BY e.at").records]
    assert actions == ["token.create", "token.revoke"]
    listed = gql.data("{ apiTokens(includeRevoked: true) { tokenId active } }")["apiTokens"]
    assert {"tokenId": token_id, "active": False} in listed
    assert token_id not in {t["tokenId"] for t in gql.data("{ apiTokens { tokenId } }")["apiTokens"]}


def test_revoking_an_unknown_token_is_not_found_and_writes_nothing(gql: GraphQLClient, db: Driver) -> None:
    before = _writes(db)
    body = gql.execute(REVOKE, {"id": "nope"})
    assert _code(body) == "NOT_FOUND"
    assert body["errors"][0]["extensions"]["problems"][0]["field"] == "tokenId"
    assert _writes(db) == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.CONTRIBUTOR, Role.APPROVER])
def test_only_admins_manage_tokens(client_as: Callable[..., GraphQLClient], db: Driver, role: Role) -> None:
    client = client_as(f"user-{role.value}", role)
    before = _writes(db)
    body = client.execute(CREATE_TOKEN, {"name": "sneaky", "role": "ADMIN"})
    assert body["data"] == {"createApiToken": None}  # refused: no result, and (below) nothing written
    assert _code(body) == "FORBIDDEN"
    assert body["errors"][0]["extensions"]["problems"][0]["code"] == "MISSING_ROLE"
    assert "admin" in body["errors"][0]["message"]
    assert _code(client.execute("{ apiTokens { tokenId } }")) == "FORBIDDEN"
    assert _code(client.execute(REVOKE, {"id": "whatever"})) == "FORBIDDEN"
    assert _writes(db) == before, "a refusal writes nothing"
    assert _count(db, "MATCH (p:Principal {name: 'sneaky'}) RETURN count(p)") == 0


def test_bad_token_input_names_the_field(gql: GraphQLClient, db: Driver) -> None:
    before = _writes(db)
    body = gql.execute(CREATE_TOKEN, {"name": "has space", "role": "VIEWER"})
    assert _code(body) == "VALIDATION_FAILED"
    assert body["errors"][0]["extensions"]["problems"][0]["field"] == "name"
    assert _writes(db) == before


@pytest.fixture(scope="module")
def anonymous_viewer_url(settings: Settings, driver: Driver) -> Iterator[str]:
    with live_server(settings.model_copy(update={"anonymous_role": Role.VIEWER})) as url:
        yield url


def test_anonymous_access_when_configured_grants_only_that_role(anonymous_viewer_url: str, db: Driver) -> None:
    with httpx.Client(base_url=anonymous_viewer_url) as http:
        gql = GraphQLClient(http)
        assert gql.data("{ me { name role authenticated } }")["me"] == {
            "name": "anonymous",
            "role": "VIEWER",
            "authenticated": False,
        }
        assert gql.data("{ serverInfo { version } }")["serverInfo"]["version"]
        body = gql.execute("{ apiTokens { tokenId } }")
        assert _code(body) == "UNAUTHENTICATED", "a token would help, so it is not FORBIDDEN"
        assert _code(gql.execute(CREATE_TOKEN, {"name": "eve", "role": "ADMIN"})) == "UNAUTHENTICATED"
        assert (
            http.post(
                "/graphql", json={"query": "{ me { name } }"}, headers={"Authorization": "Bearer lgt_bogus"}
            ).status_code
            == 401
        )
