// Uniqueness constraints and indexes for the lineage-graph model (see DESIGN.md "The graph").
// Applied idempotently at start-up and by the test fixture; every statement is IF NOT EXISTS.
// One statement per `;`. Natural keys are unique in the database, not only in Python.

CREATE CONSTRAINT model_group_name IF NOT EXISTS FOR (g:ModelGroup) REQUIRE g.name IS UNIQUE;
CREATE CONSTRAINT model_version_key IF NOT EXISTS FOR (v:ModelVersion) REQUIRE (v.group, v.version) IS UNIQUE;
CREATE CONSTRAINT model_version_client_token IF NOT EXISTS FOR (t:ClientToken) REQUIRE (t.group, t.token) IS UNIQUE;
CREATE CONSTRAINT model_alias_key IF NOT EXISTS FOR (a:Alias) REQUIRE (a.group, a.name) IS UNIQUE;
CREATE CONSTRAINT alias_points_once IF NOT EXISTS FOR ()-[p:POINTS_TO]-() REQUIRE (p.group, p.alias) IS UNIQUE;
CREATE CONSTRAINT dataset_key IF NOT EXISTS FOR (d:Dataset) REQUIRE (d.namespace, d.name) IS UNIQUE;
CREATE CONSTRAINT dataset_version_key IF NOT EXISTS FOR (d:DatasetVersion) REQUIRE (d.namespace, d.name, d.version) IS UNIQUE;
CREATE CONSTRAINT code_version_key IF NOT EXISTS FOR (c:CodeVersion) REQUIRE (c.repository, c.commit) IS UNIQUE;
CREATE CONSTRAINT job_key IF NOT EXISTS FOR (j:Job) REQUIRE (j.namespace, j.name) IS UNIQUE;
CREATE CONSTRAINT run_id IF NOT EXISTS FOR (r:Run) REQUIRE r.run_id IS UNIQUE;
CREATE CONSTRAINT deployment_id IF NOT EXISTS FOR (d:Deployment) REQUIRE d.deployment_id IS UNIQUE;
CREATE CONSTRAINT endpoint_name IF NOT EXISTS FOR (e:Endpoint) REQUIRE e.name IS UNIQUE;
CREATE CONSTRAINT approval_decision_id IF NOT EXISTS FOR (d:ApprovalDecision) REQUIRE d.decision_id IS UNIQUE;
CREATE CONSTRAINT audit_event_sequence IF NOT EXISTS FOR (e:AuditEvent) REQUIRE e.sequence IS UNIQUE;
CREATE CONSTRAINT audit_head_id IF NOT EXISTS FOR (h:AuditHead) REQUIRE h.id IS UNIQUE;
CREATE CONSTRAINT audit_event_id IF NOT EXISTS FOR (e:AuditEvent) REQUIRE e.event_id IS UNIQUE;
CREATE CONSTRAINT audit_event_partition_sequence IF NOT EXISTS FOR (e:AuditEvent) REQUIRE (e.partition, e.partition_sequence) IS UNIQUE;
CREATE CONSTRAINT audit_partition_name IF NOT EXISTS FOR (p:AuditPartition) REQUIRE p.name IS UNIQUE;
CREATE CONSTRAINT webhook_id IF NOT EXISTS FOR (w:Webhook) REQUIRE w.webhook_id IS UNIQUE;
CREATE CONSTRAINT webhook_delivery_id IF NOT EXISTS FOR (d:WebhookDelivery) REQUIRE d.delivery_id IS UNIQUE;
CREATE CONSTRAINT webhook_delivery_event IF NOT EXISTS FOR (d:WebhookDelivery) REQUIRE (d.webhook_id, d.event_id) IS UNIQUE;
CREATE CONSTRAINT principal_name IF NOT EXISTS FOR (p:Principal) REQUIRE p.name IS UNIQUE;
CREATE CONSTRAINT api_token_hash IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.token_hash IS UNIQUE;
CREATE CONSTRAINT api_token_id IF NOT EXISTS FOR (t:ApiToken) REQUIRE t.token_id IS UNIQUE;
CREATE CONSTRAINT registration_contract_key IF NOT EXISTS FOR (c:RegistrationContract) REQUIRE (c.group, c.version) IS UNIQUE;
CREATE CONSTRAINT stage_transition_id IF NOT EXISTS FOR (t:StageTransition) REQUIRE t.transition_id IS UNIQUE;
CREATE CONSTRAINT model_card_key IF NOT EXISTS FOR (c:ModelCard) REQUIRE (c.name, c.card_version) IS UNIQUE;
CREATE CONSTRAINT model_card_export_job_key IF NOT EXISTS FOR (j:ModelCardExportJob) REQUIRE (j.card, j.name) IS UNIQUE;
CREATE CONSTRAINT sigv4_access_key_id IF NOT EXISTS FOR (k:SigV4AccessKey) REQUIRE k.access_key_id IS UNIQUE;

CREATE INDEX model_version_status IF NOT EXISTS FOR (v:ModelVersion) ON (v.approval_status);
CREATE INDEX model_version_created IF NOT EXISTS FOR (v:ModelVersion) ON (v.created_at);
CREATE INDEX model_group_owner IF NOT EXISTS FOR (g:ModelGroup) ON (g.owner);
CREATE INDEX run_job IF NOT EXISTS FOR (r:Run) ON (r.job_namespace, r.job_name);
CREATE INDEX audit_event_subject IF NOT EXISTS FOR (e:AuditEvent) ON (e.subject);
CREATE INDEX audit_event_actor IF NOT EXISTS FOR (e:AuditEvent) ON (e.actor);
// The sequencer's work list: committed events not yet placed in the global log (the flag is removed then).
CREATE INDEX audit_event_pending IF NOT EXISTS FOR (e:AuditEvent) ON (e.pending);
CREATE INDEX audit_event_at IF NOT EXISTS FOR (e:AuditEvent) ON (e.at);
CREATE INDEX webhook_delivery_status IF NOT EXISTS FOR (d:WebhookDelivery) ON (d.status);

CREATE FULLTEXT INDEX registry_search IF NOT EXISTS
  FOR (n:ModelGroup|ModelVersion|Dataset|DatasetVersion|Job|Run|CodeVersion)
  ON EACH [n.name, n.description, n.search_tags, n.namespace, n.repository, n.job_name]
  OPTIONS {indexConfig: {`fulltext.eventually_consistent`: true}};
