// The audit log, newest first, filtered by subject, actor, action and time, and the chain's verification
// (approvers and admins only).
import { request } from "../api";
import { formatTime, h, json, link, replace } from "../dom";
import AuditDocument from "../queries/AuditLog.graphql";
import { navigate, routes } from "../router";
import type { AuditEvent, AuditLog } from "../types";
import { chainVerification } from "../widgets/chain-verification";
import { failure, loading } from "../widgets/failure";

const FILTERS = ["subject", "actor", "action", "from", "to"] as const;

function toIso(local: string): string | null {
  // datetime-local has no zone: the reader means their own clock.
  return local ? new Date(local).toISOString() : null;
}

function rows(events: AuditEvent[]): HTMLElement[] {
  return events.map((event) =>
    h(
      "tr",
      { "data-sequence": event.sequence, class: event.outcome === "OK" ? undefined : "refused" },
      h("td", { class: "number" }, String(event.sequence)),
      h("td", {}, formatTime(event.at)),
      h("td", {}, event.actor),
      h("td", {}, event.action),
      h("td", {}, event.subject ? link(routes.audit({ subject: event.subject }), event.subject) : "—"),
      h("td", {}, event.outcome),
      h("td", {}, h("details", {}, h("summary", {}, event.hash.slice(0, 12)), json(event.payload))),
    ),
  );
}

export async function renderAudit(view: HTMLElement, query: URLSearchParams): Promise<void> {
  const inputs = Object.fromEntries(
    FILTERS.map((name) => [
      name,
      h("input", { name, type: name === "from" || name === "to" ? "datetime-local" : "text", value: query.get(name) ?? "", "aria-label": name }),
    ]),
  ) as Record<(typeof FILTERS)[number], HTMLInputElement>;
  const form = h(
    "form",
    { class: "filters", "aria-label": "filters" },
    FILTERS.map((name) => h("label", {}, `${name} `, inputs[name])),
    h("button", { type: "submit" }, "Filter"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const params: Record<string, string> = {};
    for (const name of FILTERS) {
      if (inputs[name].value) {
        params[name] = inputs[name].value;
      }
    }
    navigate(routes.audit(params));
  });
  const body = h("tbody", {});
  const more = h("button", { type: "button", hidden: true }, "Older events");
  const status = h("div", {}, loading());
  replace(
    view,
    h("h1", {}, "Audit log"),
    chainVerification(),
    form,
    status,
    h("table", { class: "audit", "aria-label": "audit events" },
      h("thead", {}, h("tr", {}, ["#", "at", "actor", "action", "subject", "outcome", "hash"].map((c) => h("th", {}, c)))),
      body),
    more,
  );
  const variables = {
    subject: query.get("subject") || null,
    actor: query.get("actor") || null,
    action: query.get("action") || null,
    from: toIso(query.get("from") ?? ""),
    to: toIso(query.get("to") ?? ""),
  };
  const load = async (after: string | null) => {
    try {
      const page = (await request<AuditLog>(AuditDocument, { ...variables, after })).auditLog;
      body.append(...rows(page.edges.map((edge) => edge.node)));
      replace(status, body.children.length === 0 ? h("p", {}, "No events match.") : "");
      more.hidden = !page.pageInfo.hasNextPage;
      more.onclick = () => void load(page.pageInfo.endCursor);
    } catch (error) {
      replace(status, failure(error));
    }
  };
  await load(null);
}
