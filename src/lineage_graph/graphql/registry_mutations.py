"""Write side of the registry. Each mutation is one service call: validated, authorized, all or nothing."""

from __future__ import annotations

import strawberry

from lineage_graph.domain import commands
from lineage_graph.domain.ids import NodeKind, NodeRef
from lineage_graph.graphql.registry_inputs import (
    CodeVersionInput,
    CreateDeploymentInput,
    CreateModelGroupInput,
    MetricInput,
    RecordRunInput,
    RegisterDatasetInput,
    RegisterDatasetVersionInput,
    RegisterModelVersionInput,
    UpdateModelGroupInput,
    UpdateModelVersionInput,
    string_map,
)
from lineage_graph.graphql.registry_types import (
    CodeVersion,
    Dataset,
    DatasetVersion,
    Deployment,
    Info,
    ModelGroup,
    ModelVersion,
    Run,
)


@strawberry.type
class RegistryMutation:
    @strawberry.mutation(description="Create a model group (name as SageMaker's: 1-63 letters, digits, hyphens).")
    async def create_model_group(self, info: Info, input: CreateModelGroupInput) -> ModelGroup | None:
        cmd = commands.CreateModelGroup(input.name, input.description, input.owner, tuple(input.tags))
        return ModelGroup.from_model(await info.context.services.registry.create_group(info.context.principal, cmd))

    @strawberry.mutation
    async def update_model_group(self, info: Info, name: str, input: UpdateModelGroupInput) -> ModelGroup | None:
        cmd = commands.UpdateModelGroup(
            name, input.description, input.owner, tuple(input.tags) if input.tags is not None else None
        )
        return ModelGroup.from_model(await info.context.services.registry.update_group(info.context.principal, cmd))

    @strawberry.mutation(description="Register the group's next version with its lineage, in one transaction.")
    async def register_model_version(self, info: Info, input: RegisterModelVersionInput) -> ModelVersion | None:
        version = await info.context.services.registry.register_version(info.context.principal, input.to_domain())
        return ModelVersion.from_model(version)

    @strawberry.mutation(description="Edit description, tags and custom properties.")
    async def update_model_version(
        self, info: Info, id: strawberry.ID, input: UpdateModelVersionInput
    ) -> ModelVersion | None:
        props = string_map("customProperties", input.custom_properties) if input.custom_properties else None
        cmd = commands.UpdateModelVersion(
            NodeRef.parse(id),
            input.description,
            tuple(input.tags) if input.tags is not None else None,
            props,
            tuple(input.remove_custom_properties),
        )
        return ModelVersion.from_model(await info.context.services.registry.update_version(info.context.principal, cmd))

    @strawberry.mutation(description="Add metrics (e.g. a later evaluation); existing values are never overwritten.")
    async def add_model_version_metrics(
        self, info: Info, id: strawberry.ID, metrics: list[MetricInput]
    ) -> ModelVersion | None:
        version = await info.context.services.registry.add_metrics(
            info.context.principal, NodeRef.parse(id), [m.to_domain() for m in metrics]
        )
        return ModelVersion.from_model(version)

    @strawberry.mutation
    async def archive_model_version(self, info: Info, id: strawberry.ID) -> ModelVersion | None:
        version = await info.context.services.registry.set_archived(info.context.principal, NodeRef.parse(id), True)
        return ModelVersion.from_model(version)

    @strawberry.mutation
    async def restore_model_version(self, info: Info, id: strawberry.ID) -> ModelVersion | None:
        version = await info.context.services.registry.set_archived(info.context.principal, NodeRef.parse(id), False)
        return ModelVersion.from_model(version)

    @strawberry.mutation(
        description="Point an alias (e.g. champion) of a version's group at that version, moving it atomically."
    )
    async def set_model_alias(self, info: Info, model_version_id: strawberry.ID, alias: str) -> ModelVersion | None:
        ref = NodeRef.parse(model_version_id, "modelVersionId").expect(NodeKind.MODEL_VERSION, field="modelVersionId")
        version = await info.context.services.registry.set_alias(info.context.principal, str(ref.parts[0]), alias, ref)
        return ModelVersion.from_model(version)

    @strawberry.mutation(description="Remove an alias; returns the version number it pointed at.")
    async def delete_model_alias(self, info: Info, group: str, alias: str) -> int | None:
        return await info.context.services.registry.delete_alias(info.context.principal, group, alias)

    @strawberry.mutation
    async def register_dataset(self, info: Info, input: RegisterDatasetInput) -> Dataset | None:
        cmd = commands.RegisterDataset(input.namespace, input.name, input.description, tuple(input.tags))
        return Dataset.from_model(await info.context.services.registry.register_dataset(info.context.principal, cmd))

    @strawberry.mutation
    async def register_dataset_version(self, info: Info, input: RegisterDatasetVersionInput) -> DatasetVersion | None:
        cmd = commands.RegisterDatasetVersion(
            input.namespace, input.name, input.version, input.uri, input.digest, tuple(input.tags)
        )
        version = await info.context.services.registry.register_dataset_version(info.context.principal, cmd)
        return DatasetVersion.from_model(version)

    @strawberry.mutation
    async def register_code_version(self, info: Info, input: CodeVersionInput) -> CodeVersion | None:
        code = await info.context.services.registry.register_code_version(info.context.principal, input.to_domain())
        return CodeVersion.from_model(code)

    @strawberry.mutation(description="Record (upsert) a run with its inputs, outputs and code.")
    async def record_run(self, info: Info, input: RecordRunInput) -> Run | None:
        return Run.from_model(
            await info.context.services.registry.record_run(info.context.principal, input.to_domain())
        )

    @strawberry.mutation(description="Deploy a version to an endpoint; shares of one endpoint never exceed 100.")
    async def create_deployment(self, info: Info, input: CreateDeploymentInput) -> Deployment | None:
        deployment = await info.context.services.registry.create_deployment(info.context.principal, input.to_domain())
        return Deployment.from_model(deployment)

    @strawberry.mutation(description="Retire a deployment (kept in the history).")
    async def retire_deployment(self, info: Info, id: strawberry.ID) -> Deployment | None:
        ref = NodeRef.parse(id).expect(NodeKind.DEPLOYMENT)
        deployment = await info.context.services.registry.retire_deployment(info.context.principal, str(ref.parts[0]))
        return Deployment.from_model(deployment)
