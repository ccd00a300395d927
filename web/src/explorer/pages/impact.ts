// What a dataset version (or any upstream node) affects: approved and deployed model versions first, with
// counts per status; an approver can flag it, which marks approved versions downstream for re-review.
import { request } from "../api";
import { holds, type Principal } from "../context";
import { h, link, replace, table } from "../dom";
import FlagDocument from "../queries/FlagDatasetVersion.graphql";
import ImpactDocument from "../queries/Impact.graphql";
import { routes } from "../router";
import type { FlagResult, Impact } from "../types";
import { statusBadge, tagChips } from "../widgets/badges";
import { failure, loading } from "../widgets/failure";

function flagForm(id: string, principal: Principal, onFlagged: () => void): HTMLElement {
  const reason = h("input", { type: "text", name: "reason", size: 40, placeholder: "What is wrong with this data", required: true });
  const tag = h("select", { name: "tag", "aria-label": "tag" }, h("option", { value: "incident" }, "incident"), h("option", { value: "pii" }, "pii"));
  const outcome = h("div", { class: "outcome", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "flag", "aria-label": "flag this dataset version" },
    h("h2", {}, "Flag this dataset version"),
    holds(principal, "APPROVER") ? null : h("p", { class: "hint" }, "Flagging needs the approver role; the server will refuse otherwise."),
    reason, " ", tag, " ", h("button", { type: "submit" }, "Flag"),
    outcome,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    replace(outcome, "Sending…");
    try {
      const result = await request<FlagResult>(FlagDocument, { id, reason: reason.value, tag: tag.value });
      const marked = result.flagDatasetVersion.needsReview;
      replace(outcome, h("p", { role: "status" }, `Flagged. ${marked.length} approved version(s) now need review: `,
        marked.map((v) => [link(routes.version(v.groupName, v.version), `${v.groupName} v${v.version}`), " "])));
      onFlagged();
    } catch (error) {
      replace(outcome, failure(error, "Flag refused"));
    }
  });
  return form;
}

export async function renderImpact(view: HTMLElement, id: string, principal: Principal): Promise<void> {
  replace(view, loading());
  let data: Impact;
  try {
    data = await request<Impact>(ImpactDocument, { id });
  } catch (error) {
    replace(view, failure(error));
    return;
  }
  const impact = data.impact;
  const subject = data.node;
  const results = h("section", {});
  const draw = (current: Impact["impact"]) =>
    replace(
      results,
      h("p", {}, `Downstream: ${current.modelVersions.length} model versions, ${current.datasetVersionCount} dataset versions, ${current.runCount} runs.`),
      current.truncated ? h("p", { class: "truncated", role: "status" }, h("strong", {}, "Truncated: "), current.truncationReason ?? "") : null,
      table(["status", "versions", "deployed"], current.counts.map((c) => [statusBadge(c.status), c.count, c.deployed]), { class: "counts", "aria-label": "counts" }),
      table(
        ["model version", "status", "aliases", "deployments", "distance"],
        current.modelVersions.map((v) => [
          link(routes.version(v.group, v.version), `${v.group} v${v.version}`),
          statusBadge(v.approvalStatus),
          v.aliases.join(", ") || "—",
          v.deployments.map((d) => `${d.endpoint ?? d.deploymentId} (${d.environment ?? "?"}, ${d.trafficShare ?? "?"}%)`).join("; ") || "—",
          v.distance,
        ]),
        { class: "impacted", "aria-label": "impacted model versions" },
      ),
    );
  draw(impact);
  const refresh = async () => draw((await request<Impact>(ImpactDocument, { id })).impact);
  replace(
    view,
    h("h1", {}, "Impact of ", impact.subject.displayName),
    subject?.tags ? h("p", {}, "tags ", tagChips(subject.tags)) : null,
    h("p", {}, link(routes.lineage(id, { direction: "DOWNSTREAM", depth: "5" }), "Downstream lineage graph")),
    results,
    subject?.__typename === "DatasetVersion" ? flagForm(id, principal, () => void refresh()) : null,
  );
}
