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
