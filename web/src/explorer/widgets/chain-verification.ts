// The audit log's verify result: the server recomputes every hash chain on request (as `lineage-graph audit
// verify` does) and says how far each partition and the global log hold, and where the first break is.
import { request } from "../api";
import { h, replace } from "../dom";
import VerificationDocument from "../queries/AuditVerification.graphql";
import type { AuditChainBreak, AuditVerification } from "../types";
import { failure, loading } from "./failure";

function where(broken: AuditChainBreak): string {
  const chain = broken.chain === "log" ? "the global log" : `partition ${broken.chain}`;
  return `${chain} at sequence ${broken.sequence}: ${broken.reason}`;
}

function verdict(report: AuditVerification["auditVerification"]): HTMLElement {
  if (report.firstBreak) {
    return h(
      "p",
      { class: "verdict broken", role: "alert", "data-status": report.status },
      h("strong", {}, "Broken"),
      ` in ${where(report.firstBreak)}`,
    );
  }
  return h(
    "p",
    { class: "verdict intact", role: "status", "data-status": report.status },
    h("strong", {}, "Intact"),
    `: ${report.events} events in ${report.partitions.length} partitions, each verified up to its head; ` +
      `the global log through sequence ${report.logSequence} (hash ${report.logHash.slice(0, 12)}…); ` +
      `${report.unanchored} newer events verified in their partitions, not yet placed in the global log.`,
  );
}

function partitions(report: AuditVerification["auditVerification"]): HTMLElement {
  return h(
    "table",
    { class: "chains", "aria-label": "partition chains" },
    h("thead", {}, h("tr", {}, ["partition", "status", "verified through", "head", "not yet in the log", "break"].map((c) => h("th", {}, c)))),
    h(
      "tbody",
      {},
      report.partitions.map((partition) =>
        h(
          "tr",
          { "data-partition": partition.name, "data-status": partition.status, class: partition.firstBreak ? "refused" : undefined },
          h("td", {}, partition.name),
          h("td", {}, partition.status.toLowerCase()),
          h("td", { class: "number" }, String(partition.verifiedThrough)),
          h("td", { class: "number" }, String(partition.headSequence)),
          h("td", { class: "number" }, String(partition.unanchored)),
          h("td", {}, partition.firstBreak ? `${partition.firstBreak.sequence}: ${partition.firstBreak.reason}` : "—"),
        ),
      ),
    ),
  );
}

/** A section with a button: verification reads the whole log, so it runs when asked, not on every visit. */
export function chainVerification(): HTMLElement {
  const result = h("div", { class: "verification-result" });
  const run = h("button", { type: "button" }, "Verify the chain");
  run.addEventListener("click", async () => {
    run.disabled = true;
    replace(result, loading());
    try {
      const report = (await request<AuditVerification>(VerificationDocument)).auditVerification;
      replace(result, verdict(report), partitions(report));
    } catch (error) {
      replace(result, failure(error));
    } finally {
      run.disabled = false;
    }
  });
  return h(
    "section",
    { class: "verification", "aria-label": "chain verification" },
    h("h2", {}, "Chain verification"),
    h("p", { class: "hint" }, "Recomputes every hash chain of the log, as ", h("code", {}, "lineage-graph audit verify"), " does."),
    run,
    result,
  );
}
