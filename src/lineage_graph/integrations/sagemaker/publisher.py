"""Writing exported model cards to S3 (or the configured S3-compatible endpoint) through boto3."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lineage_graph.domain.sagemaker import split_s3_uri
from lineage_graph.services.model_card_exports import PublishFailed

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

# The export runs within its request: an unreachable store must cost seconds, not minutes.
_TIMEOUTS = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2})


class S3CardPublisher:
    def __init__(self, client: S3Client) -> None:
        self._client = client

    @classmethod
    def connect(cls, region: str | None, endpoint_url: str | None = None) -> S3CardPublisher:
        return cls(boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=_TIMEOUTS))

    def publish(self, uri: str, body: bytes, content_type: str) -> None:
        try:
            bucket, key = split_s3_uri(uri)
        except ValueError as exc:
            raise PublishFailed(str(exc)) from None
        try:
            self._client.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise PublishFailed(
                f"S3 refused the write to {uri}: {error.get('Code', 'an error')} {error.get('Message', '')}".strip()
            ) from None
        except BotoCoreError as exc:
            raise PublishFailed(f"S3 is unreachable or refused the request ({type(exc).__name__})") from None
