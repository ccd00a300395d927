"""The browser side: the explorer at `/ui` and the GraphiQL page at `GET /graphql`, served from the front end
that `scripts/install` builds into `web/dist` (assets from npm packages, so no page fetches from a CDN).

Without a build the server still starts: `/ui` and GraphiQL answer 503 with a page saying how to build it.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

# The source checkout's build output (an editable install, as `scripts/install` makes); `web_dir` overrides it.
SOURCE_WEB_DIR = Path(__file__).resolve().parents[2] / "web" / "dist"

_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lineage-graph · not built</title></head>
<body style="font-family: system-ui, sans-serif; margin: 2em; max-width: 48em">
<h1>The {what} is not built</h1>
<p>This server found no front-end build in <code>{root}</code>. Run <code>scripts/install</code> (it runs
<code>npm ci</code> and <code>npm run build</code> in <code>web/</code>; Node.js and npm are needed), then restart
the server. The GraphQL API at <code>POST /graphql</code> works without it.</p>
</body></html>
"""


class WebAssets:
    """The built front end under `root`: `ui/` (the explorer) and `graphiql/` (the GraphiQL page)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def explorer_built(self) -> bool:
        return (self.root / "ui" / "index.html").is_file()

    @property
    def graphiql_built(self) -> bool:
        return (self.root / "graphiql" / "index.html").is_file()

    def graphiql_page(self) -> Response:
        if not self.graphiql_built:
            return self._not_built("GraphiQL page")
        return HTMLResponse((self.root / "graphiql" / "index.html").read_text(encoding="utf-8"))

    def routes(self) -> list[BaseRoute]:
        routes: list[BaseRoute] = [Route("/", _to_explorer, methods=["GET"])]
        if self.explorer_built:
            routes.append(Mount("/ui", StaticFiles(directory=self.root / "ui", html=True)))
        else:
            routes.append(Route("/ui{path:path}", self._explorer_not_built, methods=["GET"]))
        if self.graphiql_built:
            routes.append(Mount("/graphiql", StaticFiles(directory=self.root / "graphiql")))
        return routes

    async def _explorer_not_built(self, request: Request) -> Response:
        return self._not_built("explorer")

    def _not_built(self, what: str) -> Response:
        return HTMLResponse(_NOT_BUILT.format(what=what, root=self.root), status_code=503)


async def _to_explorer(request: Request) -> Response:
    return RedirectResponse("/ui/", status_code=307)
