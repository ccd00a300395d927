// Two or more versions side by side: metrics (best marked), hyperparameter and lineage differences.
import { request } from "../api";
import { formatNumber, h, link, replace } from "../dom";
import CompareDocument from "../queries/CompareModelVersions.graphql";
import { routes } from "../router";
import type { Comparison } from "../types";
import { statusBadge } from "../widgets/badges";
import { failure, loading } from "../widgets/failure";

export async function renderCompare(view: HTMLElement, ids: string[]): Promise<void> {
  replace(view, loading());
  let result: Comparison["compareModelVersions"];
  try {
    result = (await request<Comparison>(CompareDocument, { ids })).compareModelVersions;
  } catch (error) {
    replace(view, failure(error));
    return;
  }
  const versions = result.versions;
  const header = (first: string) =>
    h(
      "tr",
      {},
      h("th", {}, first),
      versions.map((v) => h("th", {}, link(routes.version(v.groupName, v.version), `${v.groupName} v${v.version}`))),
    );
  const used = (flag: boolean) => h("td", { class: flag ? "used" : "unused" }, flag ? "✓" : "—");

  replace(
    view,
    h("h1", {}, "Compare versions"),
    h(
      "table",
      { class: "comparison", "aria-label": "metrics" },
      h("thead", {}, header("metric")),
      h(
        "tbody",
        {},
        h("tr", {}, h("th", {}, "status"), versions.map((v) => h("td", {}, statusBadge(v.approvalStatus)))),
        result.metrics.map((metric) =>
          h(
            "tr",
            { "data-metric": metric.name },
            h("th", {}, metric.split ? `${metric.name} (${metric.split})` : metric.name, h("small", {}, metric.higherIsBetter ? " ↑ better" : " ↓ better")),
            metric.values.map((value, index) =>
              h(
                "td",
                { class: index === metric.bestIndex ? "number best" : "number", title: index === metric.bestIndex ? "best" : undefined },
                formatNumber(value),
                index === metric.bestIndex ? " ★" : "",
              ),
            ),
          ),
        ),
      ),
    ),
    h("h2", {}, "Hyperparameter differences"),
    result.hyperparameterDifferences.length === 0
      ? h("p", {}, "Same hyperparameters.")
      : h(
          "table",
          { class: "comparison", "aria-label": "hyperparameters" },
          h("thead", {}, header("hyperparameter")),
          h(
            "tbody",
            {},
            result.hyperparameterDifferences.map((difference) =>
              h("tr", {}, h("th", {}, difference.name), difference.values.map((value) => h("td", {}, value ?? "—"))),
            ),
          ),
        ),
    h("h2", {}, "Lineage differences"),
    result.datasetDifferences.length + result.codeDifferences.length === 0
      ? h("p", {}, "Same training data and code.")
      : h(
          "table",
          { class: "comparison", "aria-label": "lineage differences" },
          h("thead", {}, header("used")),
          h(
            "tbody",
            {},
            result.datasetDifferences.map((d) => h("tr", {}, h("th", {}, "data ", h("code", {}, d.key)), d.usedBy.map(used))),
            result.codeDifferences.map((d) => h("tr", {}, h("th", {}, "code ", h("code", {}, d.key)), d.usedBy.map(used))),
          ),
        ),
    result.commonDatasets.length > 0
      ? h("p", {}, "Trained on by all: ", result.commonDatasets.map((key) => h("code", {}, key, " ")))
      : null,
  );
}
