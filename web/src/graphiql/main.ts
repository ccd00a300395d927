// The GraphiQL page served at GET /graphql: GraphiQL with the explorer plugin, subscriptions over graphql-ws,
// nothing kept in localStorage (editor state lives in this tab's sessionStorage, headers nowhere), and the
// schema fetched again whenever the Authorization header changes, so the Docs panel follows the token.
import { HeaderFreeStorage } from "./header-free-storage";
import defaultQuery from "./ModelVersionLineage.graphql";

const SCHEMA_REFETCH_DELAY_MS = 400;

const endpoint = new URL("/graphql", window.location.href);
const subscriptionEndpoint = new URL(endpoint.href);
subscriptionEndpoint.protocol = endpoint.protocol === "https:" ? "wss:" : "ws:";

/** The Authorization value in GraphiQL's Headers editor, or "" when there is none or the JSON is unfinished. */
function authorizationOf(headersText: string): string | null {
  if (headersText.trim() === "") {
    return "";
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(headersText);
  } catch {
    return null; // still being typed: keep the current fetcher
  }
  if (typeof parsed !== "object" || parsed === null) {
    return "";
  }
  for (const [name, value] of Object.entries(parsed)) {
    if (name.toLowerCase() === "authorization" && typeof value === "string") {
      return value;
    }
  }
  return "";
}

function fetcherFor(authorization: string): Fetcher {
  // Browsers cannot set headers on a WebSocket, so the token travels in graphql-ws's connection_init payload.
  return GraphiQL.createFetcher({
    url: endpoint.href,
    subscriptionUrl: subscriptionEndpoint.href,
    wsConnectionParams: authorization ? { Authorization: authorization } : {},
  });
}

const storage = new HeaderFreeStorage(window.sessionStorage);

function LineageGraphiQL(): unknown {
  const [authorization, setAuthorization] = React.useState("");
  const pending = React.useRef<number | undefined>(undefined);
  // A new fetcher makes GraphiQL introspect again, with the headers now in the editor.
  const fetcher = React.useMemo(() => fetcherFor(authorization), [authorization]);
  const explorer = React.useMemo(() => GraphiQLPluginExplorer.explorerPlugin(), []);

  function onEditHeaders(text: string): void {
    const next = authorizationOf(text);
    window.clearTimeout(pending.current);
    if (next === null) {
      return;
    }
    pending.current = window.setTimeout(() => setAuthorization(next), SCHEMA_REFETCH_DELAY_MS);
  }

  return React.createElement(GraphiQL, {
    fetcher,
    defaultQuery,
    defaultEditorToolsVisibility: "headers",
    defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
    shouldPersistHeaders: false,
    storage,
    plugins: [explorer],
    onEditHeaders,
  });
}

const container = document.getElementById("graphiql");
if (container) {
  ReactDOM.createRoot(container).render(React.createElement(LineageGraphiQL));
}
