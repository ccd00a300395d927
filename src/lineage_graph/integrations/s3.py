"""S3 object heads through boto3, for artifact verification (services/artifacts.py)."""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from lineage_graph.domain.errors import Unavailable
from lineage_graph.domain.sagemaker import split_s3_uri
from lineage_graph.services.artifacts import ObjectHead

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


class S3ObjectHeads:
    def __init__(self, client: S3Client) -> None:
        self._client = client

    @classmethod
    def connect(cls, region: str, endpoint_url: str | None = None) -> S3ObjectHeads:
        return cls(boto3.client("s3", region_name=region, endpoint_url=endpoint_url))

    def handles(self, uri: str) -> bool:
        return uri.startswith("s3://")

    def head(self, uri: str) -> ObjectHead | None:
        bucket, key = split_s3_uri(uri)
        try:
            # ChecksumMode=ENABLED makes S3 return the object's stored checksums (SHA-256 when it was uploaded
            # with one); without it they are omitted.
            found = self._client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return None
            raise Unavailable(
                f"S3 refused head_object for {uri}: {exc.response.get('Error', {}).get('Code')}"
            ) from None
        except BotoCoreError as exc:
            raise Unavailable(f"S3 is unreachable: {type(exc).__name__}") from None
        return ObjectHead(found["ContentLength"], (found.get("ETag") or "").strip('"') or None, _sha256_hex(found))


def _sha256_hex(found: object) -> str | None:
    value = found.get("ChecksumSHA256") if isinstance(found, dict) else None
    # A multipart upload's checksum is a checksum of part checksums ("…-N"): not the object's own digest.
    if not isinstance(value, str) or "-" in value:
        return None
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return None
