"""`GET /model-cards/{name}`: a model card as a readable HTML page, lineage drawn as inline SVG.

Everything is on the page itself (no script, no stylesheet or font from elsewhere), and every value from the
graph is HTML-escaped: card text and dataset names are user input.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from lineage_graph.domain.auth import ANONYMOUS
from lineage_graph.domain.errors import DomainError, NotFound, ValidationFailed
from lineage_graph.services.container import Services

_STYLE = """
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1d2330}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #dde}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;padding:.3rem .5rem;text-align:left}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;background:#eef;margin-right:.4rem}
.warn{background:#fde8e8}.muted{color:#667}svg text{font-size:11px}
"""
_STATUS = {"VALIDATION_FAILED": 400, "NOT_FOUND": 404, "FORBIDDEN": 403, "UNAUTHENTICATED": 401}


async def model_card_page(request: Request) -> Response:
    services: Services = request.state.services
    principal = getattr(request.state, "principal", ANONYMOUS)
    raw_version = request.query_params.get("version")
    try:
        if raw_version is not None and not raw_version.isdigit():
            raise ValidationFailed.field("version", "must be a card version number")
        card_version = int(raw_version) if raw_version is not None else None
        _card, document = await services.model_cards.document(principal, request.path_params["name"], card_version)
    except NotFound as exc:
        return HTMLResponse(_page("Not found", f"<p>{escape(exc.message)}</p>"), status_code=404)
    except DomainError as exc:
        return HTMLResponse(_page("Refused", f"<p>{escape(exc.message)}</p>"), status_code=_STATUS.get(exc.code, 409))
    return HTMLResponse(render_card(document))


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _text(value: Any) -> str:
    return '<span class="muted">not stated</span>' if value in (None, "") else escape(str(value))


def _rows(headers: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_text(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def lineage_svg(nodes: list[dict[str, Any]], edges: list[dict[str, Any]]) -> str:
    """Nodes in columns by distance (the model on the right), edges as straight lines."""
    if not nodes:
        return '<p class="muted">no lineage recorded</p>'
    columns: dict[int, list[str]] = {}
    for node in nodes:
        columns.setdefault(int(node["distance"]), []).append(node["id"])
    depth = max(columns)
    width, row_height, col_width = 190 * (depth + 1), 34, 190
    where: dict[str, tuple[int, int]] = {}
    for distance, ids in columns.items():
        for row, node_id in enumerate(ids):
            where[node_id] = ((depth - distance) * col_width + 5, row * row_height + 5)
    height = max(len(ids) for ids in columns.values()) * row_height + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for edge in edges:
        if edge["source"] in where and edge["target"] in where:
            (x1, y1), (x2, y2) = where[edge["source"]], where[edge["target"]]
            parts.append(
                f'<line x1="{x1 + 170}" y1="{y1 + 12}" x2="{x2}" y2="{y2 + 12}" stroke="#99a">'
                f"<title>{escape(edge['type'])}</title></line>"
            )
    for node in nodes:
        x, y = where[node["id"]]
        label = str(node["id"])
        short = label if len(label) <= 28 else label[:27] + "…"
        parts.append(
            f'<g><rect x="{x}" y="{y}" width="170" height="24" rx="5" fill="#eef" stroke="#99a"/>'
            f'<text x="{x + 6}" y="{y + 16}">{escape(short)}</text><title>{escape(node["label"])}: '
            f"{escape(label)}</title></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def render_card(doc: dict[str, Any]) -> str:
    overview, uses, extra, gov = (
        doc["model_overview"],
        doc["intended_uses"],
        doc["additional_information"],
        doc["governance"],
    )
    training = doc["training_details"]["training_job_details"]
    metrics = doc["evaluation_details"][0]["metric_groups"][0]["metric_data"]
    incidents = gov["open_incidents"]
    badges = "".join(
        f'<span class="badge">{escape(str(b))}</span>'
        for b in (
            gov["card"]["status"],
            gov["approval_status"],
            gov["stage"] or "no stage",
            f"risk: {uses['risk_rating']}",
        )
    )
    body = [
        f"<h1>Model card: {escape(overview['model_name'])}</h1>",
        f'<p class="muted">card {escape(gov["card"]["name"])}, version {gov["card"]["card_version"]}</p>',
        f"<p>{badges}</p>",
        f"<p>{_text(overview['model_description'])}</p>",
        "<h2>Intended use</h2>",
        f"<p>{_text(uses['intended_uses'])}</p>",
        f"<p><strong>Risk rating:</strong> {_text(uses['risk_rating'])}: "
        f"{_text(uses['explanations_for_risk_rating'])}</p>",
        "<h2>Limitations</h2>",
        f"<p>{_text(extra['caveats_and_recommendations'])}</p>",
        f"<p><strong>Ethical considerations:</strong> {_text(extra['ethical_considerations'])}</p>",
        "<h2>Open incidents upstream</h2>",
        (
            "".join(f'<p class="badge warn">{escape(i)}</p>' for i in incidents)
            if incidents
            else '<p class="muted">none</p>'
        ),
        "<h2>Training data and lineage</h2>",
        _rows(
            ["dataset version", "uri", "upstream"],
            [[t["dataset_version"], t["uri"], ", ".join(t["upstream"])] for t in gov["training_data"]],
        ),
        f"<p><strong>Producing run:</strong> {_text(training['training_arn'])} &nbsp; "
        f"<strong>Code:</strong> {_text(', '.join(gov['code_versions']))}</p>",
        lineage_svg(gov["lineage"]["nodes"], gov["lineage"]["edges"]),
        "<h2>Metrics</h2>",
        _rows(
            ["metric", "value", "notes", "required by the contract"],
            [[m["name"], m["value"], m.get("notes"), "yes" if m["required_by_contract"] else "no"] for m in metrics],
        ),
        "<h2>Hyperparameters</h2>",
        _rows(["name", "value"], [[h["name"], h["value"]] for h in training["hyper_parameters"]]),
        "<h2>Approvals</h2>",
        _rows(
            ["decision", "to", "by", "at", "comment", "evidence"],
            [
                [a["decision"], a["to"], a["actor"], a["at"], a["comment"], json.dumps(a["evidence"])[:300]]
                for a in gov["approvals"]
            ],
        ),
        "<h2>Stages</h2>",
        _rows(
            ["from", "to", "status", "by", "automated", "at"],
            [[t["from"], t["to"], t["status"], t["actor"], t["automated"], t["at"]] for t in gov["stage_history"]],
        ),
        "<h2>Deployments</h2>",
        _rows(
            ["endpoint", "environment", "traffic %", "status", "since"],
            [
                [d["endpoint"], d["environment"], d["traffic_share"], d["status"], d["deployed_at"]]
                for d in gov["deployments"]
            ],
        ),
    ]
    return _page(f"Model card {overview['model_name']}", "".join(body))
