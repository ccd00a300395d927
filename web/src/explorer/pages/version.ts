// A model version: metadata, metrics, artifact, lineage links, the approval policy and its history with the
// evidence, deployments, and the approve / reject decision (the server decides; its refusal is shown).
import { request } from "../api";
import { holds, type Principal } from "../context";
import { formatNumber, formatTime, h, json, link, replace, table } from "../dom";
import ApproveDocument from "../queries/ApproveModelVersion.graphql";
import HistoryDocument from "../queries/ApprovalHistory.graphql";
import VersionDocument from "../queries/ModelVersionPage.graphql";
import RejectDocument from "../queries/RejectModelVersion.graphql";
import { routes } from "../router";
import type { ApprovalHistory, ApprovalPolicy, ApprovalReadiness, Lifecycle, ModelVersion, ModelVersionPage } from "../types";
import { stageLabel, statusBadge, tagChips } from "../widgets/badges";
import { failure, loading } from "../widgets/failure";

function metadata(version: ModelVersion, lifecycle: Lifecycle | null): HTMLElement {
  const facts: [string, Node | string][] = [
    ["artifact", h("code", {}, version.artifactUri)],
    ["digest", version.artifactDigest ?? "—"],
    ["size", version.artifactSize === null ? "—" : `${version.artifactSize} bytes`],
    ["framework", [version.framework, version.frameworkVersion].filter(Boolean).join(" ") || "—"],
    ["aliases", version.aliases.join(", ") || "—"],
    ["stage", h("span", { id: "stage" }, stageLabel(version.stage, version.stageStatus, lifecycle?.stages))],
    ["stage description", version.stageDescription ?? "—"],
    ["tags", tagChips(version.tags)],
    ["created", `${formatTime(version.createdAt)} by ${version.createdBy ?? "—"}`],
    ["updated", formatTime(version.updatedAt)],
  ];
  return h("dl", { class: "facts" }, facts.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function lineageLinks(version: ModelVersion): HTMLElement {
  return h(
    "ul",
    { class: "lineage-links" },
    version.trainedOn.map((d) =>
      h("li", {}, "trained on ", link(routes.impact(d.id), `${d.namespace}/${d.name}@${d.version}`), " ", tagChips(d.tags)),
    ),
    version.producedBy
      ? h("li", {}, "produced by run ", link(routes.lineage(version.producedBy.id), `${version.producedBy.jobName} ${version.producedBy.runId}`))
      : null,
    version.code.map((c) => h("li", {}, "code ", link(routes.lineage(c.id), `${c.repository}@${c.commit}`))),
    version.derivedFrom
      ? h("li", {}, "fine-tune of ", link(routes.version(version.derivedFrom.groupName, version.derivedFrom.version), `${version.derivedFrom.groupName} v${version.derivedFrom.version}`))
      : null,
    h("li", {}, link(routes.lineage(version.id), "Open the lineage graph")),
  );
}

function policyView(policy: ApprovalPolicy | null): HTMLElement {
  if (!policy) {
    return h("p", {}, "No approval policy.");
  }
  const rules: string[] = [
    ...policy.requiredMetrics.map((m) => `${m.name}${m.split ? ` (${m.split})` : ""} ${m.operator} ${m.threshold}`),
    policy.requireTrainingData ? "a training dataset in its lineage" : "",
    policy.requireCodeVersion ? "a code version in its lineage" : "",
    policy.requireProducingRun ? "the run that produced it" : "",
    ...policy.forbiddenUpstreamTags.map((tag) => `no upstream data tagged ${tag}`),
    ...policy.requiredUpstreamTags.map((tag) => `upstream data tagged ${tag}`),
    policy.minApprovers > 1 ? `${policy.minApprovers} distinct approvers` : "",
    policy.fourEyes ? "approved by someone other than its registrant (four-eyes)" : "",
  ].filter(Boolean);
  return h("ul", { class: "policy" }, rules.map((rule) => h("li", {}, rule)));
}

function readinessView(readiness: ApprovalReadiness): HTMLElement {
  const approvals = `${readiness.approvals} of ${readiness.approvalsNeeded} approvals`;
  return h(
    "div",
    { class: readiness.ready ? "readiness ready" : "readiness unmet", "data-ready": String(readiness.ready) },
    readiness.ready
      ? h("p", {}, h("strong", {}, "Ready: "), `an approval by you would make it ${readiness.resultingStatus.toLowerCase().replace(/_/g, " ")} (${approvals}).`)
      : h("p", {}, h("strong", {}, "Not ready: "), `${readiness.unmet.length} rule(s) unmet for you (${approvals}).`),
    readiness.unmet.length > 0
      ? h("ul", { class: "problems" }, readiness.unmet.map((rule) =>
          h("li", { "data-problem": rule.code }, h("code", {}, rule.code), " ", rule.field ? `${rule.field}: ` : "", rule.message)))
      : null,
    readiness.lineageComplete ? null : h("p", { class: "truncated" }, "The upstream walk behind this evidence was cut short by a limit."),
  );
}

function decisionForm(version: ModelVersion, principal: Principal, onDecided: () => void): HTMLElement {
  const comment = h("textarea", { name: "comment", "aria-label": "comment", rows: 2, cols: 50, placeholder: "Why (kept with the decision)" });
  const outcome = h("div", { class: "outcome", "aria-live": "polite" });
  const decide = async (approve: boolean) => {
    replace(outcome, "Sending…");
    try {
      await request(approve ? ApproveDocument : RejectDocument, { id: version.id, comment: comment.value || null });
      onDecided();
    } catch (error) {
      replace(outcome, failure(error, approve ? "Approval refused" : "Rejection refused"));
    }
  };
  const approve = h("button", { type: "button", class: "approve" }, "Approve");
  const reject = h("button", { type: "button", class: "reject" }, "Reject");
  approve.addEventListener("click", () => void decide(true));
  reject.addEventListener("click", () => void decide(false));
  return h(
    "div",
    { class: "decision" },
    holds(principal, "APPROVER", version.groupName)
      ? null
      : h("p", { class: "hint" }, `You are signed in as ${principal.name} (${principal.role?.toLowerCase() ?? "no role"}); deciding needs the approver role, so the server will refuse.`),
    comment,
    h("div", {}, approve, " ", reject),
    outcome,
  );
}

export async function renderVersion(view: HTMLElement, group: string, number: number, principal: Principal): Promise<void> {
  replace(view, loading());
  let page: ModelVersionPage;
  let history: ApprovalHistory;
  try {
    page = await request<ModelVersionPage>(VersionDocument, { group, version: number });
    if (!page.modelVersion) {
      replace(view, h("p", { role: "alert" }, `${group} has no version ${number}.`));
      return;
    }
    history = await request<ApprovalHistory>(HistoryDocument, { id: page.modelVersion.id });
  } catch (error) {
    replace(view, failure(error));
    return;
  }
  const version = page.modelVersion;
  const rerender = () => void renderVersion(view, group, number, principal);

  replace(
    view,
    h(
      "h1",
      {},
      link(routes.group(version.groupName), version.groupName),
      ` v${version.version} `,
      h("span", { id: "approval-status" }, statusBadge(version.approvalStatus)),
      version.needsReview ? h("span", { class: "badge review" }, "needs review") : null,
      version.archived ? h("span", { class: "badge" }, "archived") : null,
    ),
    version.description ? h("p", {}, version.description) : null,
    h("div", { class: "columns" },
      h("section", {}, h("h2", {}, "Metadata"), metadata(version, page.lifecycle)),
      h("section", {}, h("h2", {}, "Lineage"), lineageLinks(version)),
    ),
    h("h2", {}, "Metrics"),
    table(
      ["metric", "split", "step", "value"],
      version.metrics.map((m) => [m.name, m.split ?? "—", m.step ?? "—", h("span", { class: "number" }, formatNumber(m.value))]),
      { class: "metrics", "aria-label": "metrics" },
    ),
    h("div", { class: "columns" },
      h("section", {}, h("h2", {}, "Hyperparameters"), json(version.hyperparameters)),
      h("section", {}, h("h2", {}, "Custom properties"), json(version.customProperties)),
    ),
    h(
      "section",
      { class: "approval", "aria-label": "approval" },
      h("h2", {}, "Approval"),
      h("h3", {}, "What approving it needs now (the server's evaluation)"),
      readinessView(version.approvalReadiness),
      h("h3", {}, "The group's approval policy"),
      policyView(page.approvalPolicy),
      decisionForm(version, principal, rerender),
      h("h3", {}, "History"),
      history.approvalHistory.length === 0
        ? h("p", {}, "No decisions yet.")
        : table(
            ["decision", "status", "by", "at", "comment", "evidence"],
            history.approvalHistory.map((d) => [
              d.decision.toLowerCase(),
              [statusBadge(d.fromStatus), " → ", statusBadge(d.toStatus)],
              d.actor,
              formatTime(d.at),
              d.comment ?? "—",
              h("details", {}, h("summary", {}, "evidence"), json(d.evidence)),
            ]),
            { class: "history", "aria-label": "approval history" },
          ),
    ),
    h("h2", {}, "Deployments"),
    version.deployments.length === 0
      ? h("p", {}, "Not deployed.")
      : table(
          ["endpoint", "environment", "traffic", "status", "deployed", "retired"],
          version.deployments.map((d) => [
            d.endpoint,
            d.environment,
            `${formatNumber(d.trafficShare)}%`,
            d.status.toLowerCase(),
            `${formatTime(d.deployedAt)} by ${d.deployedBy ?? "—"}`,
            formatTime(d.retiredAt),
          ]),
          { class: "deployments", "aria-label": "deployments" },
        ),
  );
}
