// The lineage graph around any node: direction and depth controls, `truncated` said plainly, and a click on
// a node shows it and expands its neighbours into the drawing.
import { request } from "../api";
import { h, link, replace } from "../dom";
import LineageDocument from "../queries/Lineage.graphql";
import { navigate, routes } from "../router";
import type { Direction, Lineage, LineageGraph, LineageNode } from "../types";
import { statusBadge, tagChips } from "../widgets/badges";
import { failure, loading } from "../widgets/failure";
import { KIND_COLOURS, KIND_LABELS, LineageCanvas, kindKey, kindLabel } from "../widgets/lineage-canvas";

const DIRECTIONS: Direction[] = ["BOTH", "UPSTREAM", "DOWNSTREAM"];
const MAX_DEPTH = 100;

function pageOf(node: LineageNode): HTMLElement | null {
  switch (kindKey(node.kind)) {
    case "modelversion":
      return node.group && node.version ? link(routes.version(node.group, node.version), "Open the version") : null;
    case "modelgroup":
      return node.name ? link(routes.group(node.name), "Open the group") : null;
    case "datasetversion":
      return link(routes.impact(node.id), "Impact of this dataset version");
    default:
      return null;
  }
}

function truncation(graph: LineageGraph): HTMLElement {
  if (!graph.truncated) {
    return h("p", { class: "complete" }, `Complete: ${graph.nodes.length} nodes, ${graph.edges.length} edges, depth ${graph.depthReached}.`);
  }
  const why: Record<string, string> = {
    DEPTH: "the depth limit was reached; there is more beyond it (increase the depth)",
    NODE_LIMIT: "the node limit was reached",
    EDGE_LIMIT: "the edge limit was reached",
    TIMEOUT: "the time budget ran out",
  };
  return h(
    "p",
    { class: "truncated", role: "status" },
    h("strong", {}, "Truncated: "),
    why[graph.truncationReason ?? ""] ?? (graph.truncationReason ?? "the walk was cut short"),
    ` — showing ${graph.nodes.length} nodes, ${graph.edges.length} edges.`,
  );
}

function legend(): HTMLElement {
  return h(
    "div",
    { class: "legend" },
    Object.entries(KIND_COLOURS).map(([kind, colour]) => h("span", {}, h("i", { style: `background:${colour}` }), KIND_LABELS[kind] ?? kind)),
    h("span", {}, h("i", { class: "ring approved" }), "approved"),
    h("span", {}, h("i", { class: "ring pending" }), "pending"),
    h("span", {}, h("i", { class: "ring rejected" }), "rejected"),
    h("span", {}, h("i", { class: "ring review" }), "needs review"),
    h("span", {}, h("i", { class: "ring flagged" }), "incident / pii"),
    h("span", {}, h("i", { class: "ring more" }), "more beyond (click to expand)"),
  );
}

export async function renderLineage(view: HTMLElement, id: string, query: URLSearchParams): Promise<void> {
  const direction = (DIRECTIONS as string[]).includes(query.get("direction") ?? "") ? (query.get("direction") as Direction) : "BOTH";
  const depth = Math.min(MAX_DEPTH, Math.max(1, Number(query.get("depth")) || 3));

  const directionSelect = h("select", { name: "direction", "aria-label": "direction" },
    DIRECTIONS.map((d) => h("option", { value: d, selected: d === direction }, d.toLowerCase())));
  const depthInput = h("input", { type: "number", name: "depth", min: 1, max: MAX_DEPTH, value: depth, "aria-label": "depth" });
  const controls = h("form", { class: "controls" },
    h("label", {}, "direction ", directionSelect), " ",
    h("label", {}, "depth ", depthInput), " ",
    h("button", { type: "submit" }, "Redraw"));
  controls.addEventListener("submit", (event) => {
    event.preventDefault();
    navigate(routes.lineage(id, { direction: directionSelect.value, depth: depthInput.value }));
  });

  const summary = h("div", { class: "summary" }, loading());
  const canvas = h("div", { id: "lineage-canvas", class: "canvas", role: "img", "aria-label": "lineage graph" });
  const details = h("aside", { class: "details", "aria-live": "polite" }, h("p", { class: "hint" }, "Click a node to see it and expand its neighbours."));
  replace(view, h("h1", {}, "Lineage"), controls, legend(), summary, h("div", { class: "lineage" }, canvas, details));

  let graph: LineageGraph;
  try {
    graph = (await request<Lineage>(LineageDocument, { id, direction, depth })).lineage;
  } catch (error) {
    replace(summary, failure(error));
    return;
  }
  const drawing = new LineageCanvas(canvas, (node) => void select(node));
  drawing.merge(graph);
  canvas.dataset.ready = "true";
  const rootNode = drawing.node(graph.root);
  replace(summary, rootNode ? h("p", {}, "Around ", h("strong", {}, rootNode.displayName), ` (${kindLabel(rootNode.kind)})`) : "", truncation(graph));

  async function select(node: LineageNode): Promise<void> {
    replace(
      details,
      h("h2", {}, node.displayName),
      h("dl", { class: "facts" },
        h("dt", {}, "kind"), h("dd", {}, kindLabel(node.kind)),
        h("dt", {}, "distance"), h("dd", {}, String(node.distance)),
        node.approvalStatus ? [h("dt", {}, "approval"), h("dd", {}, statusBadge(node.approvalStatus))] : null,
        h("dt", {}, "tags"), h("dd", {}, tagChips(node.tags)),
        node.needsReview ? [h("dt", {}, "review"), h("dd", {}, h("span", { class: "badge review" }, "needs review"))] : null),
      h("p", {}, pageOf(node), " ", link(routes.lineage(node.id, { direction, depth: String(depth) }), "Centre here")),
      h("p", { class: "expanding" }, "Expanding…"),
    );
    try {
      const neighbours = (await request<Lineage>(LineageDocument, { id: node.id, direction: "BOTH", depth: 1 })).lineage;
      const added = drawing.merge(neighbours);
      details.querySelector(".expanding")?.replaceWith(h("p", { class: "expanded" }, added > 0 ? `Expanded: ${added} new elements.` : "Nothing new around it."));
    } catch (error) {
      details.querySelector(".expanding")?.replaceWith(failure(error));
    }
  }
}
