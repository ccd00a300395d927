// The API token lives in this tab's sessionStorage only: closing the tab signs out, and nothing is written
// to localStorage or cookies.
const TOKEN_KEY = "lineage-graph.token";

export function token(): string | null {
  return window.sessionStorage.getItem(TOKEN_KEY);
}

export function signIn(secret: string): void {
  window.sessionStorage.setItem(TOKEN_KEY, secret.trim());
}

export function signOut(): void {
  window.sessionStorage.removeItem(TOKEN_KEY);
}
