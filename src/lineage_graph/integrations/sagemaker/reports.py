"""Reading ModelMetrics reports (JSON objects in S3) through boto3, for the importer and for registrations
through the SageMaker-compatible API alike."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lineage_graph.domain.sagemaker import split_s3_uri
from lineage_graph.services.sagemaker_registry import ReportUnreadable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

MAX_REPORT_BYTES = 1024 * 1024
# A registration waits for its reports: an unreachable store must cost seconds, not minutes.
_TIMEOUTS = Config(connect_timeout=3, read_timeout=5, retries={"max_attempts": 2})


class S3Reports:
    def __init__(self, client: S3Client) -> None:
        self._client = client

    @classmethod
    def connect(cls, region: str | None, endpoint_url: str | None = None) -> S3Reports:
        return cls(boto3.client("s3", region_name=region, endpoint_url=endpoint_url, config=_TIMEOUTS))

    def read(self, uri: str) -> Any:
        """The parsed JSON report at `uri` (its first MiB); ReportUnreadable says why it could not be read."""
        try:
            bucket, key = split_s3_uri(uri)
        except ValueError as exc:
            raise ReportUnreadable(str(exc)) from None
        try:
            found = self._client.get_object(Bucket=bucket, Key=key, Range=f"bytes=0-{MAX_REPORT_BYTES - 1}")
            body = found["Body"].read()
        except ClientError as exc:
            raise ReportUnreadable(f"S3 answered {exc.response.get('Error', {}).get('Code', 'an error')}") from None
        except BotoCoreError as exc:
            raise ReportUnreadable(f"S3 is unreachable or refused the request ({type(exc).__name__})") from None
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ReportUnreadable("the object is not a JSON report") from None
