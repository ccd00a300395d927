"""The front end as the server serves it: GraphiQL at GET /graphql and the explorer at /ui load only files
from this server, each matching the integrity hash its page names; without a build, a clear 503."""

from __future__ import annotations

import base64
import hashlib
from html.parser import HTMLParser
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.testclient import TestClient

from lineage_graph.web import SOURCE_WEB_DIR, WebAssets


class _Assets(HTMLParser):
    """(url, integrity) of every script and stylesheet a page loads."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        url = named.get("src") if tag == "script" else named.get("href") if tag == "link" else None
        if url and not url.startswith("data:"):
            self.found.append((url, named.get("integrity")))


def _assets_of(html: str) -> list[tuple[str, str | None]]:
    parser = _Assets()
    parser.feed(html)
    return parser.found


def _sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


def test_graphiql_and_the_explorer_load_only_local_files_with_matching_hashes(anonymous_http: httpx.Client) -> None:
    assert (SOURCE_WEB_DIR / "graphiql" / "index.html").is_file(), "run scripts/install to build web/dist"
    graphiql = anonymous_http.get("/graphql", headers={"Accept": "text/html"})
    explorer = anonymous_http.get("/ui/")
    for page, expected in ((graphiql, 7), (explorer, 2)):
        assert page.status_code == 200
        assets = _assets_of(page.text)
        assert len(assets) == expected, assets
        for url, integrity in assets:
            assert url.startswith("/"), f"{url} is not served by this server"
            assert not url.startswith("//"), f"{url} is not served by this server"
            asset = anonymous_http.get(url)
            assert asset.status_code == 200, url
            assert integrity == _sri(asset.content), url
    assert "Authorization" in graphiql.text  # the one-line hint where the token goes
    assert "unpkg" not in graphiql.text
    assert "cdn" not in graphiql.text.lower()


def test_without_a_build_the_pages_say_how_to_build_them(tmp_path: Path) -> None:
    web = WebAssets(tmp_path / "dist")
    with TestClient(Starlette(routes=web.routes())) as client:
        for path in ("/ui/", "/ui", "/ui/explorer.js"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code == 503, path
            assert "scripts/install" in answer.text
        assert client.get("/", follow_redirects=False).headers["location"] == "/ui/"
    page = web.graphiql_page()
    assert page.status_code == 503
    assert b"scripts/install" in bytes(page.body)
