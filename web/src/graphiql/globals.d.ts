// The standalone builds loaded by index.html put these on `window`; only what the page uses is declared.
type ReactNode = unknown;
type Fetcher = (params: unknown, options?: unknown) => unknown;

interface FetcherOptions {
  url: string;
  subscriptionUrl?: string;
  wsConnectionParams?: Record<string, unknown>;
  headers?: Record<string, string>;
}

interface GraphiQLProps {
  fetcher: Fetcher;
  defaultQuery?: string;
  defaultEditorToolsVisibility?: boolean | "variables" | "headers";
  initialVariables?: string;
  defaultHeaders?: string;
  shouldPersistHeaders?: boolean;
  storage?: Storage;
  plugins?: unknown[];
  onEditHeaders?: (value: string) => void;
  isHeadersEditorEnabled?: boolean;
}

declare const React: {
  createElement(type: unknown, props?: object | null, ...children: ReactNode[]): ReactNode;
  useState<T>(initial: T | (() => T)): [T, (next: T) => void];
  useRef<T>(initial: T): { current: T };
  useMemo<T>(factory: () => T, deps: unknown[]): T;
  useEffect(effect: () => void | (() => void), deps?: unknown[]): void;
};

declare const ReactDOM: {
  createRoot(container: Element): { render(node: ReactNode): void };
};

declare const GraphiQL: ((props: GraphiQLProps) => ReactNode) & {
  createFetcher(options: FetcherOptions): Fetcher;
};

declare const GraphiQLPluginExplorer: { explorerPlugin(): unknown };
