"""Reading the registry: node(id:), natural-key lookups, cursor pages with filters and sort, full-text
search and version comparison."""

from __future__ import annotations

from typing import Any

from neo4j import Driver

from tests.support import GraphQLClient, error_codes, problem_fields


def _seed(gql: GraphQLClient) -> list[dict[str, Any]]:
    gql.data(
        'mutation { createModelGroup(input: {name: "churn", owner: "growth", tags: ["tabular"], '
        'description: "Predicts customer churn"}) { name } }'
    )
    gql.data('mutation { createModelGroup(input: {name: "fraud-detector", owner: "risk"}) { name } }')
    versions = []
    for i, (auc, loss, depth) in enumerate([(0.81, 0.42, 4), (0.86, 0.37, 6), (0.84, 0.35, 6)]):
        versions.append(
            gql.data(
                """mutation($input: RegisterModelVersionInput!) {
            registerModelVersion(input: $input) { id version } }""",
                {
                    "input": {
                        "group": "churn",
                        "artifactUri": f"s3://models/churn/{i}",
                        "tags": ["gbm"] if i else ["baseline"],
                        "hyperparameters": {"depth": depth, "lr": 0.1},
                        "metrics": [{"name": "auc", "value": auc}, {"name": "log_loss", "value": loss}],
                        "trainedOnDatasets": [
                            {"namespace": "s3://lake", "name": "customers", "version": f"v{min(i, 1)}"}
                        ],
                    }
                },
            )["registerModelVersion"]
        )
    return versions


def test_node_resolves_every_kind_by_global_id(gql: GraphQLClient, db: Driver) -> None:
    versions = _seed(gql)
    found = gql.data(
        "query($id: ID!) { node(id: $id) { id __typename ... on ModelVersion { version groupName "
        "group { name owner } trainedOn { id } } } }",
        {"id": versions[1]["id"]},
    )["node"]
    assert found["__typename"] == "ModelVersion"
    assert found["group"] == {"name": "churn", "owner": "growth"}
    dataset_version = gql.data(
        "query($id: ID!) { node(id: $id) { __typename ... on DatasetVersion { name "
        "dataset { id versions { totalCount nodes { version } } } } } }",
        {"id": found["trainedOn"][0]["id"]},
    )
    dv = dataset_version["node"]
    assert dv["__typename"] == "DatasetVersion"
    assert {v["version"] for v in dv["dataset"]["versions"]["nodes"]} == {"v0", "v1"}
    assert dv["dataset"]["versions"]["totalCount"] == 2
    group = gql.data("query($id: ID!) { node(id: $id) { __typename } }", {"id": dv["dataset"]["id"]})
    assert group["node"]["__typename"] == "Dataset"
    body = gql.execute('{ node(id: "not base64 at all!") { id } }')
    assert error_codes(body) == ["VALIDATION_FAILED"]
    assert problem_fields(body) == ["id"]
    assert gql.data('{ node(id: "WyJNb2RlbEdyb3VwIiwibm9wZSJd") { id } }')["node"] is None


def test_version_pages_filters_and_sort(gql: GraphQLClient, db: Driver) -> None:
    _seed(gql)
    query = """query($first: Int, $after: String, $filter: ModelVersionFilter, $dir: SortDirection) {
        modelVersions(first: $first, after: $after, filter: $filter, direction: $dir) {
          totalCount pageInfo { hasNextPage hasPreviousPage endCursor } nodes { version } } }"""
    page1 = gql.data(query, {"first": 2, "filter": {"group": "churn"}})["modelVersions"]
    assert [n["version"] for n in page1["nodes"]] == [1, 2]
    assert page1["totalCount"] == 3
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = gql.data(query, {"first": 2, "after": page1["pageInfo"]["endCursor"], "filter": {"group": "churn"}})[
        "modelVersions"
    ]
    assert [n["version"] for n in page2["nodes"]] == [3]
    assert page2["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "endCursor": page2["pageInfo"]["endCursor"],
    }
    desc = gql.data(query, {"filter": {"group": "churn"}, "dir": "DESC"})["modelVersions"]
    assert [n["version"] for n in desc["nodes"]] == [3, 2, 1]
    tagged = gql.data(query, {"filter": {"tag": "gbm", "approvalStatus": "PENDING_MANUAL_APPROVAL"}})
    assert tagged["modelVersions"]["totalCount"] == 2
    none_yet = gql.data(query, {"filter": {"approvalStatus": "APPROVED"}})
    assert none_yet["modelVersions"]["totalCount"] == 0
    future = gql.data(query, {"filter": {"createdAfter": "2999-01-01T00:00:00Z"}})
    assert future["modelVersions"]["totalCount"] == 0
    for bad in (0, 101):
        body = gql.execute(query, {"first": bad})
        assert problem_fields(body) == ["first"]
    body = gql.execute(query, {"after": "bogus"})
    assert problem_fields(body) == ["after"]


def test_group_list_filters(gql: GraphQLClient, db: Driver) -> None:
    _seed(gql)
    query = """query($f: ModelGroupFilter) { modelGroups(filter: $f) { totalCount nodes { name versionCount } } }"""
    assert gql.data(query, {"f": {"nameContains": "FRAUD"}})["modelGroups"]["nodes"] == [
        {"name": "fraud-detector", "versionCount": 0}
    ]
    assert gql.data(query, {"f": {"owner": "growth"}})["modelGroups"]["nodes"] == [{"name": "churn", "versionCount": 3}]
    assert gql.data(query, {"f": {"tag": "tabular"}})["modelGroups"]["totalCount"] == 1
    assert gql.data(query, {})["modelGroups"]["totalCount"] == 2
    looked_up = gql.data('{ modelGroup(name: "churn") { latestVersion { version } } }')
    assert looked_up["modelGroup"]["latestVersion"] == {"version": 3}
    assert gql.data('{ modelGroup(name: "nope") { name } }')["modelGroup"] is None


def test_search_uses_the_fulltext_index(gql: GraphQLClient, db: Driver) -> None:
    _seed(gql)
    hits = gql.data('{ search(text: "customer churn") { score node { __typename ... on ModelGroup { name } } } }')
    assert hits["search"][0]["node"] == {"__typename": "ModelGroup", "name": "churn"}
    by_tag = gql.data(
        '{ search(text: "baseline", types: [MODEL_VERSION]) { node { ... on ModelVersion { version } } } }'
    )
    assert [h["node"] for h in by_tag["search"]] == [{"version": 1}]
    # a version by its name, first; a group's name finds the group, not each of its versions
    named = gql.data('{ search(text: " churn/2 ") { score node { __typename ... on ModelVersion { version } } } }')
    assert named["search"][0]["node"] == {"__typename": "ModelVersion", "version": 2}
    assert named["search"][0]["score"] == max(h["score"] for h in named["search"])
    typed = '{ search(text: "churn/2", types: [DATASET]) { node { __typename } } }'
    assert all(h["node"]["__typename"] == "Dataset" for h in gql.data(typed)["search"])
    missing = gql.data('{ search(text: "churn/9") { node { __typename } } }')["search"]
    assert "ModelVersion" not in [h["node"]["__typename"] for h in missing]
    by_name = gql.data('{ search(text: "churn") { node { __typename } } }')["search"]
    assert "ModelVersion" not in [h["node"]["__typename"] for h in by_name]
    # Lucene syntax in user text is escaped, never interpreted (and never an error)
    assert gql.data('{ search(text: "fraud-detector) OR *:* AND \\"") { score } }')["search"] is not None
    body = gql.execute('{ search(text: "   ") { score } }')
    assert problem_fields(body) == ["text"]


_INDEXED_PROPERTIES = (
    "SHOW FULLTEXT INDEXES YIELD name, properties WHERE name = 'registry_search' RETURN properties AS properties"
)


def test_a_version_enters_the_search_index_only_with_words_of_its_own(gql: GraphQLClient, db: Driver) -> None:
    # An entry costs Lucene a flush per commit: a bare registration (most of them) must not make one.
    gql.data('mutation { createModelGroup(input: {name: "bare"}) { name } }')
    register = """mutation($input: RegisterModelVersionInput!) { registerModelVersion(input: $input) { id } }"""
    bare = gql.data(register, {"input": {"group": "bare", "artifactUri": "s3://m/1"}})["registerModelVersion"]["id"]
    tagged = {"group": "bare", "artifactUri": "s3://m/2", "tags": ["gbm"]}
    gql.data(register, {"input": tagged})
    indexed = set(db.execute_query(_INDEXED_PROPERTIES).records[0]["properties"])

    def entries(version: int) -> set[str]:
        found = db.execute_query(
            "MATCH (v:ModelVersion {group: 'bare', version: $v}) RETURN properties(v) AS p", v=version
        ).records[0]["p"]
        return indexed & {key for key, value in found.items() if isinstance(value, str)}

    assert entries(1) == set()
    assert entries(2) == {"search_tags"}
    # tags removed: out of the index again; the version is still found by its name
    gql.data('mutation($id: ID!) { updateModelVersion(id: $id, input: {tags: ["x"]}) { id } }', {"id": bare})
    assert entries(1) == {"search_tags"}
    gql.data("mutation($id: ID!) { updateModelVersion(id: $id, input: {tags: []}) { id } }", {"id": bare})
    assert entries(1) == set()
    hits = gql.data('{ search(text: "bare/1") { node { id } } }')["search"]
    assert hits[0] == {"node": {"id": bare}}


def test_search_sees_every_registration_the_moment_it_returns(gql: GraphQLClient, db: Driver) -> None:
    # The index is eventually consistent; a search waits for what committed before it.
    gql.data('mutation { createModelGroup(input: {name: "instant"}) { name } }')
    register = """mutation($d: String!) { registerModelVersion(input: {group: "instant",
        artifactUri: "s3://models/instant", description: $d}) { version } }"""
    search = "query($t: String!) { search(text: $t) { node { ... on ModelVersion { group { name } version } } } }"
    for n in range(1, 26):
        word = f"quokka{n}zebra"
        assert gql.data(register, {"d": f"scorer {word}"})["registerModelVersion"] == {"version": n}
        hits = gql.data(search, {"t": word})["search"]
        assert [h["node"] for h in hits] == [{"group": {"name": "instant"}, "version": n}], n


def test_compare_marks_best_metric_and_lists_differences(gql: GraphQLClient, db: Driver) -> None:
    versions = _seed(gql)
    result = gql.data(
        """query($ids: [ID!]!) { compareModelVersions(ids: $ids) {
        versions { version }
        metrics { name values bestIndex higherIsBetter }
        hyperparameterDifferences { name values }
        datasetDifferences { key usedBy }
        commonDatasets } }""",
        {"ids": [v["id"] for v in versions]},
    )["compareModelVersions"]
    metrics = {m["name"]: m for m in result["metrics"]}
    assert metrics["auc"]["bestIndex"] == 1
    assert metrics["auc"]["higherIsBetter"] is True
    assert metrics["log_loss"]["bestIndex"] == 2
    assert metrics["log_loss"]["higherIsBetter"] is False
    assert result["hyperparameterDifferences"] == [{"name": "depth", "values": ["4", "6", "6"]}]
    assert result["datasetDifferences"] == [
        {"key": "s3://lake/customers@v0", "usedBy": [True, False, False]},
        {"key": "s3://lake/customers@v1", "usedBy": [False, True, True]},
    ]
    body = gql.execute(
        "query($ids: [ID!]!) { compareModelVersions(ids: $ids) { commonDatasets } }", {"ids": [versions[0]["id"]]}
    )
    assert problem_fields(body) == ["ids"]


def test_compare_uses_the_contract_columns_in_contract_order(gql: GraphQLClient, db: Driver) -> None:
    versions = _seed(gql)  # registered before the contract: they keep what they had
    gql.data(
        """mutation { setRegistrationContract(group: "churn", contract: {
          requiredMetrics: [{name: "log_loss"}, {name: "auc", split: "validation"}]
          requiredHyperparameters: [{name: "lr", type: NUMBER}, {name: "seed", type: INTEGER}]
        }) { version } }"""
    )
    fourth = gql.data(
        """mutation { registerModelVersion(input: {group: "churn", artifactUri: "s3://models/churn/4",
          hyperparameters: {lr: 0.05, seed: 7},
          metrics: [{name: "log_loss", value: 0.3, split: "test"}, {name: "auc", value: 0.9, split: "validation"}]
        }) { id } }"""
    )["registerModelVersion"]
    result = gql.data(
        """query($ids: [ID!]!) { compareModelVersions(ids: $ids) {
        metrics { name split values required bestIndex }
        contractHyperparameters { name values required }
        hyperparameterDifferences { name values required } } }""",
        {"ids": [versions[0]["id"], fourth["id"]]},
    )["compareModelVersions"]
    assert result["metrics"] == [
        # The contract's columns first, in its order; a metric required without a split is met by any split.
        {"name": "log_loss", "split": None, "values": [0.42, 0.3], "required": True, "bestIndex": 1},
        {"name": "auc", "split": "validation", "values": [None, 0.9], "required": True, "bestIndex": None},
        {"name": "auc", "split": None, "values": [0.81, None], "required": False, "bestIndex": None},
    ]
    assert result["contractHyperparameters"] == [
        {"name": "lr", "values": ["0.1", "0.05"], "required": True},
        {"name": "seed", "values": [None, "7"], "required": True},
    ]
    assert result["hyperparameterDifferences"] == [
        {"name": "depth", "values": ["4", None], "required": False},
        {"name": "lr", "values": ["0.1", "0.05"], "required": True},
        {"name": "seed", "values": [None, "7"], "required": True},
    ]
