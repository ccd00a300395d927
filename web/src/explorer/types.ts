// The shapes of the answers to the documents in queries/, as the server sends them.

export type ApprovalStatus = "PENDING_MANUAL_APPROVAL" | "APPROVED" | "REJECTED";
export type Role = "VIEWER" | "CONTRIBUTOR" | "APPROVER" | "ADMIN";
export type Direction = "UPSTREAM" | "DOWNSTREAM" | "BOTH";

export interface Me {
  me: { name: string; role: Role | null; authenticated: boolean; groupRoles: { group: string; role: Role }[] };
}

export interface Metric {
  name: string;
  value: number;
  step?: number | null;
  split: string | null;
}

export type SearchNode =
  | { __typename: "ModelGroup"; id: string; name: string; description: string | null; tags: string[] }
  | { __typename: "ModelVersion"; id: string; groupName: string; version: number; approvalStatus: ApprovalStatus; tags: string[] }
  | { __typename: "Dataset"; id: string; namespace: string; name: string; description: string | null; tags: string[] }
  | { __typename: "DatasetVersion"; id: string; namespace: string; name: string; datasetVersion: string; tags: string[] }
  | { __typename: "Run"; id: string; runId: string; jobNamespace: string; jobName: string; status: string; kind: string }
  | { __typename: "CodeVersion"; id: string; repository: string; commit: string; branch: string | null }
  | { __typename: "Job"; id: string; namespace: string; name: string }
  | { __typename: "Deployment"; id: string; endpoint: string; environment: string; modelVersion: { groupName: string; version: number } };

export interface Search {
  search: { score: number; node: SearchNode }[];
}

export interface GroupVersion {
  id: string;
  version: number;
  approvalStatus: ApprovalStatus;
  aliases: string[];
  stage: string | null;
  stageStatus: string | null;
  archived: boolean;
  needsReview: boolean;
  tags: string[];
  createdBy: string | null;
  createdAt: string;
  metrics: Metric[];
}

/** A group's ordered stages; a version with no stage yet is in the first one. */
export interface Lifecycle {
  stages: { name: string }[];
}

export interface ModelGroupPage {
  modelGroup: {
    id: string;
    name: string;
    description: string | null;
    owner: string | null;
    tags: string[];
    createdBy: string | null;
    createdAt: string;
    versionCount: number;
    versions: { totalCount: number; nodes: GroupVersion[] };
  } | null;
  lifecycle: Lifecycle | null;
}

export interface Comparison {
  compareModelVersions: {
    versions: { id: string; groupName: string; version: number; approvalStatus: ApprovalStatus }[];
    metrics: { name: string; split: string | null; values: (number | null)[]; bestIndex: number | null; higherIsBetter: boolean }[];
    hyperparameterDifferences: { name: string; values: (string | null)[] }[];
    datasetDifferences: { key: string; usedBy: boolean[] }[];
    codeDifferences: { key: string; usedBy: boolean[] }[];
    commonDatasets: string[];
  };
}

export interface Deployment {
  id: string;
  deploymentId: string;
  endpoint: string;
  environment: string;
  trafficShare: number;
  status: string;
  deployedBy: string | null;
  deployedAt: string;
  retiredAt: string | null;
}

export interface ApprovalPolicy {
  requiredMetrics: { name: string; operator: string; threshold: number; split: string | null }[];
  requireTrainingData: boolean;
  requireCodeVersion: boolean;
  requireProducingRun: boolean;
  forbiddenUpstreamTags: string[];
  requiredUpstreamTags: string[];
  minApprovers: number;
  fourEyes: boolean;
}

export interface ApprovalReadiness {
  ready: boolean;
  status: ApprovalStatus;
  resultingStatus: ApprovalStatus;
  approvals: number;
  approvalsNeeded: number;
  lineageComplete: boolean;
  unmet: { code: string; field: string | null; message: string }[];
}

export interface ModelVersion {
  id: string;
  groupName: string;
  version: number;
  description: string | null;
  artifactUri: string;
  artifactDigest: string | null;
  artifactSize: number | null;
  framework: string | null;
  frameworkVersion: string | null;
  hyperparameters: Record<string, unknown>;
  customProperties: Record<string, unknown>;
  metrics: Metric[];
  tags: string[];
  approvalStatus: ApprovalStatus;
  archived: boolean;
  needsReview: boolean;
  aliases: string[];
  stage: string | null;
  stageStatus: string | null;
  stageDescription: string | null;
  createdBy: string | null;
  createdAt: string;
  updatedAt: string;
  approvalReadiness: ApprovalReadiness;
  trainedOn: { id: string; namespace: string; name: string; version: string; tags: string[] }[];
  producedBy: { id: string; runId: string; jobName: string; status: string } | null;
  code: { id: string; repository: string; commit: string }[];
  derivedFrom: { id: string; groupName: string; version: number } | null;
  deployments: Deployment[];
}

export interface ModelVersionPage {
  modelVersion: ModelVersion | null;
  lifecycle: Lifecycle | null;
  approvalPolicy: ApprovalPolicy | null;
}

export interface ApprovalDecision {
  id: string;
  decision: "APPROVE" | "REJECT";
  fromStatus: ApprovalStatus;
  toStatus: ApprovalStatus;
  actor: string;
  at: string;
  comment: string | null;
  evidence: unknown;
}

export interface ApprovalHistory {
  approvalHistory: ApprovalDecision[];
}

export interface LineageNode {
  id: string;
  kind: string;
  displayName: string;
  distance: number;
  namespace: string | null;
  name: string | null;
  group: string | null;
  version: string | null;
  repository: string | null;
  commit: string | null;
  runId: string | null;
  approvalStatus: string | null;
  archived: boolean | null;
  needsReview: boolean | null;
  tags: string[];
  /** The answer stopped short of what lies beyond this node: expanding it may show more. */
  expandable: boolean;
}

export interface LineageEdge {
  source: string;
  target: string;
  type: string;
}

export interface LineageGraph {
  root: string;
  nodes: LineageNode[];
  edges: LineageEdge[];
  depthReached: number;
  truncated: boolean;
  truncationReason: string | null;
}

export interface Lineage {
  lineage: LineageGraph;
}

export interface Impact {
  impact: {
    subject: { id: string; kind: string; displayName: string };
    modelVersions: {
      id: string;
      group: string;
      version: number;
      approvalStatus: string | null;
      archived: boolean | null;
      distance: number;
      aliases: string[];
      deployments: { deploymentId: string; endpoint: string | null; environment: string | null; trafficShare: number | null }[];
    }[];
    counts: { status: string; count: number; deployed: number }[];
    datasetVersionCount: number;
    runCount: number;
    truncated: boolean;
    truncationReason: string | null;
  };
  node: { __typename: string; namespace?: string; name?: string; version?: string; uri?: string | null; tags?: string[] } | null;
}

export interface FlagResult {
  flagDatasetVersion: { needsReview: { id: string; groupName: string; version: number; approvalStatus: ApprovalStatus }[] };
}

export interface AuditEvent {
  id: string;
  sequence: number;
  actor: string;
  action: string;
  subject: string | null;
  outcome: string;
  at: string;
  payload: unknown;
  hash: string;
}

export interface AuditLog {
  auditLog: { edges: { node: AuditEvent }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

export type AuditChainStatus = "INTACT" | "BROKEN";

export interface AuditChainBreak {
  chain: string;
  sequence: number;
  reason: string;
  missing: boolean;
}

export interface AuditPartitionVerification {
  name: string;
  status: AuditChainStatus;
  headSequence: number;
  verifiedThrough: number;
  unanchored: number;
  firstBreak: AuditChainBreak | null;
}

export interface AuditVerification {
  auditVerification: {
    status: AuditChainStatus;
    events: number;
    logSequence: number;
    logHash: string;
    unanchored: number;
    partitions: AuditPartitionVerification[];
    firstBreak: AuditChainBreak | null;
  };
}
