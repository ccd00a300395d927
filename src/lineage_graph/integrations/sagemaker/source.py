"""Read a SageMaker model registry through boto3 paginators into the importer's plain records."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from lineage_graph.domain.sagemaker import metric_report_uris, package_spec
from lineage_graph.integrations.sagemaker.reports import S3Reports
from lineage_graph.services.sagemaker_import import (
    SourceEndpoint,
    SourceGroup,
    SourcePackage,
    SourceTrainingJob,
    SourceVariant,
)
from lineage_graph.services.sagemaker_registry import ReportUnreadable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient


class Boto3SageMakerSource:
    def __init__(self, sagemaker: SageMakerClient, s3: S3Client) -> None:
        self._sm = sagemaker
        self._reports_reader = S3Reports(s3)
        # What CreateModelPackage accepts is what a package's spec is made of (botocore's own service model).
        create = sagemaker.meta.service_model.operation_model("CreateModelPackage").input_shape
        self._create_members = frozenset(create.members if create is not None else ())

    @classmethod
    def connect(cls, region: str | None, endpoint_url: str | None = None) -> Boto3SageMakerSource:
        session = boto3.session.Session(region_name=region)
        return cls(
            session.client("sagemaker", endpoint_url=endpoint_url), session.client("s3", endpoint_url=endpoint_url)
        )

    def groups(self, names: Sequence[str]) -> Iterator[SourceGroup]:
        if names:
            for name in names:
                found = self._sm.describe_model_package_group(ModelPackageGroupName=name)
                yield SourceGroup(name, found.get("ModelPackageGroupDescription"), found["CreationTime"])
            return
        for page in self._sm.get_paginator("list_model_package_groups").paginate(SortBy="CreationTime"):
            for group in page["ModelPackageGroupSummaryList"]:
                yield SourceGroup(
                    group["ModelPackageGroupName"], group.get("ModelPackageGroupDescription"), group["CreationTime"]
                )

    def packages(self, group: str, since: datetime | None) -> Iterator[SourcePackage]:
        kwargs: dict[str, Any] = {"ModelPackageGroupName": group, "ModelPackageType": "Versioned"}
        if since is not None:
            kwargs["CreationTimeAfter"] = since
        for page in self._sm.get_paginator("list_model_packages").paginate(**kwargs):
            for summary in page["ModelPackageSummaryList"]:
                yield self._package(summary["ModelPackageArn"])

    def _package(self, arn: str) -> SourcePackage:
        found: Mapping[str, Any] = self._sm.describe_model_package(ModelPackageName=arn)
        containers = (found.get("InferenceSpecification") or {}).get("Containers") or [{}]
        container = containers[0]
        return SourcePackage(
            arn=arn,
            group=found["ModelPackageGroupName"],
            version=int(found["ModelPackageVersion"]),
            created_at=found["CreationTime"],
            approval_status=found.get("ModelApprovalStatus") or "PendingManualApproval",
            approval_description=found.get("ApprovalDescription"),
            description=found.get("ModelPackageDescription"),
            model_data_url=container.get("ModelDataUrl") or found.get("SourceUri"),
            image=container.get("Image"),
            framework=container.get("Framework"),
            framework_version=container.get("FrameworkVersion"),
            customer_properties=dict(found.get("CustomerMetadataProperties") or {}),
            metadata={k: str(v) for k, v in (found.get("MetadataProperties") or {}).items()},
            lifecycle={k: str(v) for k, v in (found.get("ModelLifeCycle") or {}).items()},
            reports=self._reports(found.get("ModelMetrics") or {}),
            # Through JSON, as the API stores it (a member holding a timestamp would come back as its text).
            spec=json.loads(
                json.dumps(package_spec({k: v for k, v in found.items() if k in self._create_members}), default=str)
            ),
        )

    def _reports(self, metrics: Mapping[str, Any]) -> dict[str, Any]:
        """Fetch each ModelMetrics report from S3 and parse it; an unreadable report is left out."""
        reports: dict[str, Any] = {}
        for section, uri in metric_report_uris(metrics):
            try:
                reports[section] = self._reports_reader.read(uri)
            except ReportUnreadable:
                continue
        return reports

    def training_job(self, name: str) -> SourceTrainingJob | None:
        try:
            found = self._sm.describe_training_job(TrainingJobName=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("ValidationException", "ResourceNotFound"):
                return None
            raise
        return SourceTrainingJob(
            arn=found["TrainingJobArn"],
            name=found["TrainingJobName"],
            status=found["TrainingJobStatus"],
            started_at=found.get("TrainingStartTime"),
            ended_at=found.get("TrainingEndTime"),
            hyperparameters=dict(found.get("HyperParameters") or {}),
            final_metrics={m["MetricName"]: float(m["Value"]) for m in found.get("FinalMetricDataList") or []},
            input_uris=[
                c["DataSource"]["S3DataSource"]["S3Uri"]
                for c in found.get("InputDataConfig") or []
                if "S3DataSource" in c.get("DataSource", {})
            ],
            model_artifact=(found.get("ModelArtifacts") or {}).get("S3ModelArtifacts"),
        )

    def training_jobs(self, since: datetime | None) -> Iterator[SourceTrainingJob]:
        kwargs: dict[str, Any] = {"LastModifiedTimeAfter": since} if since is not None else {}
        for page in self._sm.get_paginator("list_training_jobs").paginate(**kwargs):
            for summary in page["TrainingJobSummaries"]:
                job = self.training_job(summary["TrainingJobName"])
                if job is not None:
                    yield job

    def endpoints(self, since: datetime | None) -> Iterator[SourceEndpoint]:
        kwargs: dict[str, Any] = {"LastModifiedTimeAfter": since} if since is not None else {}
        for page in self._sm.get_paginator("list_endpoints").paginate(**kwargs):
            for summary in page["Endpoints"]:
                yield self._endpoint(summary["EndpointName"], summary["EndpointArn"])

    def _endpoint(self, name: str, arn: str) -> SourceEndpoint:
        endpoint = self._sm.describe_endpoint(EndpointName=name)
        config = self._sm.describe_endpoint_config(EndpointConfigName=endpoint["EndpointConfigName"])
        weights = {v["VariantName"]: v.get("CurrentWeight") for v in endpoint.get("ProductionVariants") or []}
        tags = {t["Key"]: t["Value"] for t in self._sm.list_tags(ResourceArn=arn).get("Tags") or []}
        variants = []
        for variant in config["ProductionVariants"]:
            model = self._sm.describe_model(ModelName=variant["ModelName"])
            container: Mapping[str, Any] = model.get("PrimaryContainer") or (model.get("Containers") or [{}])[0]
            weight = weights.get(variant["VariantName"])
            variants.append(
                SourceVariant(
                    name=variant["VariantName"],
                    weight=float(weight if weight is not None else variant.get("InitialVariantWeight", 1.0)),
                    package_arn=container.get("ModelPackageName"),
                    model_data_url=container.get("ModelDataUrl"),
                )
            )
        return SourceEndpoint(name, tags.get("environment"), variants)
