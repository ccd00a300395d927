// Approval status and tags as small labelled chips; governance tags (incident, pii) stand out.
import { h } from "../dom";

export const GOVERNANCE_TAGS = new Set(["incident", "pii"]);

const STATUS_LABEL: Record<string, string> = {
  PENDING_MANUAL_APPROVAL: "pending approval",
  APPROVED: "approved",
  REJECTED: "rejected",
};

export function statusBadge(status: string | null | undefined): HTMLElement {
  if (!status) {
    return h("span", {}, "—");
  }
  return h("span", { class: `badge status-${status.toLowerCase()}`, "data-status": status }, STATUS_LABEL[status] ?? status);
}

export function tagChips(tags: string[] | null | undefined): HTMLElement {
  return h(
    "span",
    { class: "tags" },
    (tags ?? []).map((tag) => h("span", { class: GOVERNANCE_TAGS.has(tag) ? "tag tag-governance" : "tag" }, tag)),
  );
}

/** A version's lifecycle stage; one never moved is in its group's first stage (the server's rule, shown as such). */
export function stageLabel(stage: string | null, stageStatus: string | null, stages: { name: string }[] | undefined): HTMLElement {
  if (stage) {
    return h("span", { class: "stage", "data-stage": stage }, stage, stageStatus ? h("small", {}, ` · ${stageStatus}`) : null);
  }
  const initial = stages?.[0]?.name;
  if (!initial) {
    return h("span", {}, "—");
  }
  return h("span", { class: "stage implicit", "data-stage": initial, title: "not moved yet: the group's first stage" }, initial);
}
