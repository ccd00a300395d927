"""The SageMaker-compatible endpoint: AWS JSON 1.1 over POST, `X-Amz-Target: SageMaker.<Operation>`, SigV4.

Errors come back in the AWS shape (`__type` and `message`, plus `x-amzn-ErrorType`), so an unmodified boto3
client raises `ClientError` with the code it would get from AWS.
"""

from __future__ import annotations

import json
import logging

from starlette.requests import Request
from starlette.responses import Response

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
from lineage_graph.domain.sagemaker import ArnScope
from lineage_graph.integrations.refusals import ErrorCodes
from lineage_graph.integrations.sagemaker.call import Call, Reply
from lineage_graph.integrations.sagemaker.operations import OPERATIONS
from lineage_graph.integrations.sagemaker.sigv4 import SignatureRejected, presented
from lineage_graph.services.container import Services

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "SageMaker."

# Our domain errors -> (AWS error code, HTTP status). PolicyNotMet (four-eyes, unmet policy) is a clash with
# the version's state, as AWS reports a refused transition; a missing role is AWS's AccessDenied.
_AWS_ERRORS = ErrorCodes(
    [
        (ValidationFailed, "ValidationException", 400),
        (NotFound, "ResourceNotFound", 400),
        (AlreadyExists, "ConflictException", 409),
        (Conflict, "ConflictException", 409),
        (PolicyNotMet, "ConflictException", 409),
        (Forbidden, "AccessDeniedException", 403),
        (Unauthenticated, "UnrecognizedClientException", 400),
        (Unavailable, "ServiceUnavailable", 503),
    ],
    fallback=("InternalFailure", 500),
)


def aws_error(code: str, message: str, status: int) -> Response:
    body = json.dumps({"__type": code, "message": message})
    return Response(body, status_code=status, media_type=CONTENT_TYPE, headers={"x-amzn-ErrorType": code})


def _domain_error(exc: DomainError) -> Response:
    if isinstance(exc, PolicyNotMet) and any(p.code == "MISSING_ROLE" for p in exc.problems):
        # A refused approval whose reasons include a missing role reads as AccessDenied, with every reason.
        return aws_error("AccessDeniedException", exc.message, 403)
    refusal = _AWS_ERRORS.refusal(exc)
    return aws_error(refusal.code, refusal.message, refusal.status)


async def sagemaker_endpoint(request: Request) -> Response:
    services: Services = request.state.services
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query = f"?{request.url.query}" if request.url.query else ""
    url = f"{request.url.scheme}://{request.headers.get('host', '')}{raw_path.decode()}{query}"
    try:
        # The headers must name a known key and be fresh before the (size-capped) body is read at all.
        signer = await presented(request.headers, services.access_keys.secret_for)
        body = await request.body()
        verified = signer.check(request.method, url, request.headers, body)
        target = request.headers.get("x-amz-target", "")
        operation = OPERATIONS.get(target.removeprefix(TARGET_PREFIX)) if target.startswith(TARGET_PREFIX) else None
        if operation is None:
            return aws_error("UnknownOperationException", f"unknown or unsupported operation {target[:80]!r}", 400)
        try:
            params = json.loads(body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return aws_error("SerializationException", "the request body is not valid JSON", 400)
        if not isinstance(params, dict):
            return aws_error("SerializationException", "the request body must be a JSON object", 400)
        call = Call(services, verified.principal, ArnScope(region=verified.region))
        result = await operation(call, params)
    except SignatureRejected as exc:
        return aws_error(exc.code, exc.message, exc.status)
    except DomainError as exc:
        return _domain_error(exc)
    if isinstance(result, Reply):
        return Response(json.dumps(result.body), media_type=CONTENT_TYPE, headers=result.headers)
    return Response(json.dumps(result), media_type=CONTENT_TYPE)
