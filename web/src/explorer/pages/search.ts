// Search across model groups, versions, datasets, runs and code (the server's full-text index).
import { request } from "../api";
import { h, link, replace } from "../dom";
import SearchDocument from "../queries/Search.graphql";
import { navigate, routes } from "../router";
import type { Search, SearchNode } from "../types";
import { statusBadge, tagChips } from "../widgets/badges";
import { failure, loading } from "../widgets/failure";

const TYPES: [string, string][] = [
  ["MODEL_GROUP", "model groups"],
  ["MODEL_VERSION", "versions"],
  ["DATASET", "datasets"],
  ["DATASET_VERSION", "dataset versions"],
  ["RUN", "runs"],
  ["CODE_VERSION", "code"],
  ["JOB", "jobs"],
];

function describe(node: SearchNode): [string, HTMLElement, HTMLElement | string] {
  switch (node.__typename) {
    case "ModelGroup":
      return ["model group", link(routes.group(node.name), node.name), tagChips(node.tags)];
    case "ModelVersion":
      return [
        "model version",
        link(routes.version(node.groupName, node.version), `${node.groupName} v${node.version}`),
        statusBadge(node.approvalStatus),
      ];
    case "Dataset":
      return ["dataset", link(routes.lineage(node.id), `${node.namespace}/${node.name}`), tagChips(node.tags)];
    case "DatasetVersion":
      return [
        "dataset version",
        link(routes.impact(node.id), `${node.namespace}/${node.name}@${node.datasetVersion}`),
        tagChips(node.tags),
      ];
    case "Run":
      return ["run", link(routes.lineage(node.id), `${node.jobNamespace}.${node.jobName} ${node.runId}`), node.status];
    case "CodeVersion":
      return ["code", link(routes.lineage(node.id), `${node.repository}@${node.commit}`), node.branch ?? ""];
    case "Job":
      return ["job", h("span", {}, `${node.namespace}.${node.name}`), ""];
    case "Deployment":
      return [
        "deployment",
        link(routes.version(node.modelVersion.groupName, node.modelVersion.version), node.endpoint),
        node.environment,
      ];
  }
}

export async function renderSearch(view: HTMLElement, query: URLSearchParams): Promise<void> {
  const text = query.get("q") ?? "";
  const chosen = new Set((query.get("types") ?? "").split(",").filter(Boolean));
  const input = h("input", { type: "search", name: "q", value: text, placeholder: "fraud, transactions, a run id…", size: 40 });
  const boxes = TYPES.map(([value, label]) => {
    const box = h("input", { type: "checkbox", name: "types", value, checked: chosen.has(value) });
    return { box, element: h("label", { class: "choice" }, box, label) };
  });
  const results = h("section", { class: "results", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "search", role: "search" },
    h("h1", {}, "Search"),
    input,
    " ",
    h("button", { type: "submit" }, "Search"),
    h("div", { class: "choices" }, boxes.map((b) => b.element)),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const types = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
    const params: Record<string, string> = { q: input.value };
    if (types.length > 0) {
      params.types = types.join(",");
    }
    navigate(`#/search?${new URLSearchParams(params)}`);
  });
  replace(view, form, results);
  input.focus();
  if (!text.trim()) {
    replace(results, h("p", { class: "hint" }, "Type a name, a tag or a description word."));
    return;
  }
  replace(results, loading());
  try {
    const data = await request<Search>(SearchDocument, { text, types: chosen.size > 0 ? [...chosen] : null });
    if (data.search.length === 0) {
      replace(results, h("p", {}, `Nothing matches “${text}”.`));
      return;
    }
    replace(
      results,
      h(
        "table",
        { class: "search-results" },
        h("thead", {}, h("tr", {}, h("th", {}, "kind"), h("th", {}, "name"), h("th", {}, ""), h("th", {}, "score"))),
        h(
          "tbody",
          {},
          data.search.map(({ node, score }) => {
            const [kind, name, extra] = describe(node);
            return h("tr", { "data-kind": node.__typename }, h("td", {}, kind), h("td", {}, name), h("td", {}, extra), h("td", {}, score.toFixed(2)));
          }),
        ),
      ),
    );
  } catch (error) {
    replace(results, failure(error));
  }
}
