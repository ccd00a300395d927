// Hash routes (`#/group/fraud-detector`), so the server serves one page and any link can be bookmarked.

export interface Route {
  page: string;
  segments: string[];
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = window.location.hash.replace(/^#\/?/, "");
  const [path = "", search = ""] = hash.split("?", 2);
  const [page = "", ...segments] = path.split("/").map((part) => decodeURIComponent(part));
  return { page: page || "search", segments, query: new URLSearchParams(search) };
}

export function href(page: string, segments: (string | number)[] = [], query: Record<string, string> = {}): string {
  const path = [page, ...segments.map((segment) => encodeURIComponent(String(segment)))].join("/");
  const search = new URLSearchParams(query).toString();
  return `#/${path}${search ? `?${search}` : ""}`;
}

export function navigate(target: string): void {
  window.location.hash = target;
}

export const routes = {
  search: (text?: string) => href("search", [], text ? { q: text } : {}),
  group: (name: string) => href("group", [name]),
  version: (group: string, version: number | string) => href("version", [group, version]),
  compare: (ids: string[]) => href("compare", [], { ids: ids.join(",") }),
  lineage: (id: string, query: Record<string, string> = {}) => href("lineage", [id], query),
  impact: (id: string) => href("impact", [id]),
  audit: (query: Record<string, string> = {}) => href("audit", [], query),
  signIn: () => href("signin"),
};
