"""AddTags, ListTags and DeleteTags on groups, packages and lineage entities: SageMaker's {Key, Value} pairs are
our `key=value` tags, so GraphQL shows the same tags."""

from __future__ import annotations

from lineage_graph.domain.errors import ValidationFailed
from lineage_graph.domain.sagemaker import parse_arn, tags_from_aws
from lineage_graph.integrations.sagemaker.call import Call, Operation, Params, Result
from lineage_graph.integrations.sagemaker.shapes import paging, required_text, tags_shape


async def add_tags(call: Call, params: Params) -> Result:
    ref = parse_arn(required_text(params, "ResourceArn"), "ResourceArn")
    pairs = tags_from_aws(params.get("Tags"))
    await call.services.sagemaker_registry.add_tags(call.principal, ref, pairs)
    return {"Tags": [{"Key": k, "Value": v} for k, v in pairs]}


async def list_tags(call: Call, params: Params) -> Result:
    pg = paging(params, default_limit=50)
    ref = parse_arn(required_text(params, "ResourceArn"), "ResourceArn")
    tags = await call.services.sagemaker_registry.tags(call.principal, ref)
    shown = tags[pg.offset : pg.offset + pg.limit]
    result: Result = {"Tags": tags_shape(shown)}
    token = pg.next_token(len(shown), pg.offset + len(shown) < len(tags))
    if token:
        result["NextToken"] = token
    return result


async def delete_tags(call: Call, params: Params) -> Result:
    ref = parse_arn(required_text(params, "ResourceArn"), "ResourceArn")
    keys = params.get("TagKeys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValidationFailed.field("TagKeys", "must list the keys to remove")
    await call.services.sagemaker_registry.delete_tags(call.principal, ref, keys)
    return {}


OPERATIONS: dict[str, Operation] = {"AddTags": add_tags, "ListTags": list_tags, "DeleteTags": delete_tags}
