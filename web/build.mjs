// Builds web/dist, which the server serves: dist/ui (the explorer) and dist/graphiql (the GraphiQL page and
// the React/GraphiQL builds copied out of node_modules). Everything a page loads is a file in dist, so nothing
// is fetched from a CDN at run time; every <script>/<link> carries the sha384 of the file it names.
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");
const modules = join(root, "node_modules");

// The GraphiQL page uses the packages' own standalone (UMD) builds, as published on the npm registry.
const GRAPHIQL_VENDOR = {
  "react.production.min.js": "react/umd/react.production.min.js",
  "react-dom.production.min.js": "react-dom/umd/react-dom.production.min.js",
  "graphiql.min.js": "graphiql/graphiql.min.js",
  "graphiql.min.css": "graphiql/graphiql.min.css",
  "plugin-explorer.umd.js": "@graphiql/plugin-explorer/dist/index.umd.js",
  "plugin-explorer.css": "@graphiql/plugin-explorer/dist/style.css",
};

function integrity(path) {
  return "sha384-" + createHash("sha384").update(readFileSync(path)).digest("base64");
}

// `{{asset:NAME}}` in a page template becomes `NAME" integrity="sha384-…` for the file NAME next to it.
function renderPage(template, outDir) {
  const html = readFileSync(template, "utf8").replace(/\{\{asset:([^}]+)\}\}/g, (_, name) => {
    return `${name}" integrity="${integrity(join(outDir, name))}`;
  });
  writeFileSync(join(outDir, "index.html"), html);
}

const common = {
  bundle: true,
  minify: true,
  sourcemap: true,
  target: ["es2020"],
  logLevel: "warning",
  // Each operation is a named .graphql document, imported as text (tests/unit checks them against the SDL).
  loader: { ".graphql": "text" },
};

rmSync(dist, { recursive: true, force: true });

const graphiqlDir = join(dist, "graphiql");
mkdirSync(join(graphiqlDir, "vendor"), { recursive: true });
for (const [name, source] of Object.entries(GRAPHIQL_VENDOR)) {
  copyFileSync(join(modules, source), join(graphiqlDir, "vendor", name));
}
await build({
  ...common,
  entryPoints: [join(root, "src/graphiql/main.ts")],
  outfile: join(graphiqlDir, "graphiql-page.js"),
  format: "iife",
});
renderPage(join(root, "src/graphiql/index.html"), graphiqlDir);

const uiDir = join(dist, "ui");
await build({
  ...common,
  entryPoints: { explorer: join(root, "src/explorer/main.ts") },
  outdir: uiDir,
  format: "esm",
});
renderPage(join(root, "src/explorer/index.html"), uiDir);

console.log(`built ${dist}`);
