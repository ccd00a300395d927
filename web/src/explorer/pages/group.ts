// A model group: its versions as a table (status, aliases, stage, key metrics, created by/at); pick two or more
// to compare them.
import { request } from "../api";
import { formatNumber, formatTime, h, link, replace } from "../dom";
import ModelGroupDocument from "../queries/ModelGroupPage.graphql";
import { navigate, routes } from "../router";
import type { GroupVersion, Metric, ModelGroupPage } from "../types";
import { stageLabel, statusBadge, tagChips } from "../widgets/badges";
import { failure, loading } from "../widgets/failure";

const KEY_METRIC_COLUMNS = 5;

function metricKey(metric: Metric): string {
  return metric.split ? `${metric.name} (${metric.split})` : metric.name;
}

/** The metrics most versions report, as columns: the ones a reader compares versions by. */
function keyMetrics(versions: GroupVersion[]): string[] {
  const counts = new Map<string, number>();
  for (const version of versions) {
    for (const key of new Set(version.metrics.map(metricKey))) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, KEY_METRIC_COLUMNS)
    .map(([key]) => key);
}

export async function renderGroup(view: HTMLElement, name: string): Promise<void> {
  replace(view, loading());
  let data: ModelGroupPage;
  try {
    data = await request<ModelGroupPage>(ModelGroupDocument, { name });
  } catch (error) {
    replace(view, failure(error));
    return;
  }
  const group = data.modelGroup;
  if (!group) {
    replace(view, h("p", { role: "alert" }, `No model group named “${name}”.`));
    return;
  }
  const versions = group.versions.nodes;
  const metrics = keyMetrics(versions);
  const selected = new Set<string>();
  const compare = h("button", { type: "button", disabled: true }, "Compare selected");
  compare.addEventListener("click", () => navigate(routes.compare([...selected])));

  const rows = versions.map((version) => {
    const box = h("input", { type: "checkbox", "aria-label": `select version ${version.version}`, value: version.id });
    box.addEventListener("change", () => {
      if (box.checked) {
        selected.add(version.id);
      } else {
        selected.delete(version.id);
      }
      compare.disabled = selected.size < 2;
      compare.textContent = selected.size >= 2 ? `Compare ${selected.size} versions` : "Compare selected";
    });
    const values = new Map(version.metrics.map((metric) => [metricKey(metric), metric.value]));
    return h(
      "tr",
      { "data-version": version.version, class: version.archived ? "archived" : undefined },
      h("td", {}, box),
      h("td", {}, link(routes.version(group.name, version.version), `v${version.version}`)),
      h("td", {}, statusBadge(version.approvalStatus), version.needsReview ? h("span", { class: "badge review" }, "needs review") : null),
      h("td", {}, version.aliases.join(", ") || "—"),
      h("td", {}, stageLabel(version.stage, version.stageStatus, data.lifecycle?.stages)),
      h("td", {}, version.archived ? "archived" : "active"),
      metrics.map((key) => h("td", { class: "number" }, formatNumber(values.get(key)))),
      h("td", {}, tagChips(version.tags)),
      h("td", {}, version.createdBy ?? "—"),
      h("td", {}, formatTime(version.createdAt)),
    );
  });

  replace(
    view,
    h("h1", {}, group.name, " ", h("small", {}, `${group.versionCount} versions`)),
    h("p", {}, group.description ?? ""),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "owner"),
      h("dd", {}, group.owner ?? "—"),
      h("dt", {}, "tags"),
      h("dd", {}, tagChips(group.tags)),
      h("dt", {}, "created"),
      h("dd", {}, `${formatTime(group.createdAt)} by ${group.createdBy ?? "—"}`),
    ),
    h("p", { class: "actions" }, link(routes.lineage(group.id), "Lineage of the group"), " ", compare),
    h(
      "table",
      { class: "versions", "aria-label": "versions" },
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          h("th", {}, ""),
          h("th", {}, "version"),
          h("th", {}, "status"),
          h("th", {}, "aliases"),
          h("th", {}, "stage"),
          h("th", {}, "state"),
          metrics.map((key) => h("th", { class: "number" }, key)),
          h("th", {}, "tags"),
          h("th", {}, "created by"),
          h("th", {}, "created at"),
        ),
      ),
      h("tbody", {}, rows),
    ),
  );
}
