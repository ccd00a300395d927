// The lineage drawing: cytoscape.js with the dagre layered layout (data flows left to right), nodes coloured
// by kind, bordered by approval status, governance tags (incident, pii) highlighted. Answers are merged in,
// so expanding a node adds its neighbours to what is drawn.
import cytoscape from "cytoscape";
import dagre from "cytoscape-dagre";
import type { LineageGraph, LineageNode } from "../types";
import { GOVERNANCE_TAGS } from "./badges";

cytoscape.use(dagre);

declare global {
  interface Window {
    /** The drawn lineage graph, for a look from the browser's console. */
    lineageGraph?: cytoscape.Core;
  }
}

/** Node kinds as the server spells them, in either `ModelVersion` or `MODEL_VERSION` form, in one form. */
export function kindKey(kind: string): string {
  return kind.replace(/_/g, "").toLowerCase();
}

export const KIND_LABELS: Record<string, string> = {
  modelgroup: "model group",
  modelversion: "model version",
  dataset: "dataset",
  datasetversion: "dataset version",
  run: "run",
  job: "job",
  codeversion: "code version",
};

export function kindLabel(kind: string): string {
  return KIND_LABELS[kindKey(kind)] ?? kind;
}

export const KIND_COLOURS: Record<string, string> = {
  modelgroup: "#7c3aed",
  modelversion: "#2563eb",
  dataset: "#0d9488",
  datasetversion: "#14b8a6",
  run: "#f59e0b",
  job: "#a16207",
  codeversion: "#64748b",
};

const STATUS_COLOURS: Record<string, string> = {
  APPROVED: "#16a34a",
  REJECTED: "#dc2626",
  PENDING_MANUAL_APPROVAL: "#eab308",
};

function style(): cytoscape.StylesheetJson {
  const byKind = Object.entries(KIND_COLOURS).map(([kind, colour]) => ({
    selector: `node[kind = "${kind}"]`,
    style: { "background-color": colour },
  }));
  const byStatus = Object.entries(STATUS_COLOURS).map(([status, colour]) => ({
    selector: `node[status = "${status}"]`,
    style: { "border-color": colour, "border-width": 5 },
  }));
  return [
    {
      selector: "node",
      style: {
        label: "data(label)",
        "font-size": 10,
        "text-valign": "bottom",
        "text-margin-y": 4,
        "text-wrap": "wrap",
        "text-max-width": "150px",
        width: 28,
        height: 28,
        "background-color": "#94a3b8",
        "border-width": 1,
        "border-color": "#334155",
      },
    },
    ...byKind,
    ...byStatus,
    { selector: "node[?expandable]", style: { "border-style": "dashed" } },
    { selector: "node[?review]", style: { "border-color": "#ea580c", "border-width": 6, "border-style": "double" } },
    { selector: "node[?flagged]", style: { "border-color": "#b91c1c", "border-width": 6, "border-style": "double", shape: "diamond" } },
    { selector: "node[?root]", style: { width: 40, height: 40, "font-weight": "bold" } },
    { selector: "node:selected", style: { "overlay-color": "#1d4ed8", "overlay-opacity": 0.25, "overlay-padding": 6 } },
    {
      selector: "edge",
      style: {
        width: 1.5,
        "curve-style": "bezier",
        "target-arrow-shape": "triangle",
        "line-color": "#94a3b8",
        "target-arrow-color": "#94a3b8",
        label: "data(type)",
        "font-size": 7,
        color: "#94a3b8",
        "text-rotation": "autorotate",
      },
    },
  ];
}

export class LineageCanvas {
  readonly cy: cytoscape.Core;
  private readonly nodes = new Map<string, LineageNode>();

  constructor(container: HTMLElement, onSelect: (node: LineageNode) => void) {
    this.cy = cytoscape({ container, style: style(), minZoom: 0.1, maxZoom: 3 });
    this.cy.on("tap", "node", (event) => {
      const node = this.nodes.get(event.target.id());
      if (node) {
        onSelect(node);
      }
    });
    window.lineageGraph = this.cy;
  }

  node(id: string): LineageNode | undefined {
    return this.nodes.get(id);
  }

  /** Add what the answer has and the drawing lacks, then lay the whole graph out again. */
  merge(graph: LineageGraph): number {
    const added: cytoscape.ElementDefinition[] = [];
    for (const node of graph.nodes) {
      if (this.nodes.has(node.id)) {
        continue;
      }
      this.nodes.set(node.id, node);
      const tags = node.tags;
      added.push({
        group: "nodes",
        data: {
          id: node.id,
          label: node.displayName,
          kind: kindKey(node.kind),
          status: node.approvalStatus ?? "",
          tags: tags.join(","),
          flagged: tags.some((tag) => GOVERNANCE_TAGS.has(tag)),
          review: node.needsReview === true,
          expandable: node.expandable,
          root: this.cy.nodes().length === 0 && node.id === graph.root,
        },
      });
    }
    for (const edge of graph.edges) {
      const id = `${edge.source}|${edge.type}|${edge.target}`;
      if (this.cy.getElementById(id).nonempty() || added.some((element) => element.data.id === id)) {
        continue;
      }
      added.push({ group: "edges", data: { id, source: edge.source, target: edge.target, type: edge.type } });
    }
    if (added.length > 0) {
      this.cy.add(added);
      this.cy.layout({ name: "dagre", rankDir: "LR", nodeSep: 50, rankSep: 150, animate: false } as cytoscape.LayoutOptions).run();
      this.cy.fit(undefined, 30);
    }
    return added.length;
  }
}
