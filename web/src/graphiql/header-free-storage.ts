// What GraphiQL keeps between page loads (tabs, history, favourites) goes to this tab's sessionStorage, with
// every `headers` field removed first: GraphiQL's history saves each run's headers, and with them the token,
// even when `shouldPersistHeaders` is off.

function withoutHeaders(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(withoutHeaders);
  }
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== "headers")
        .map(([key, item]) => [key, withoutHeaders(item)]),
    );
  }
  return value;
}

export function scrubHeaders(text: string): string {
  try {
    return JSON.stringify(withoutHeaders(JSON.parse(text)));
  } catch {
    return text; // not JSON (a plain flag such as "true"): nothing to scrub
  }
}

export class HeaderFreeStorage implements Storage {
  constructor(private readonly backing: Storage) {}

  get length(): number {
    return this.backing.length;
  }

  key(index: number): string | null {
    return this.backing.key(index);
  }

  getItem(key: string): string | null {
    return this.backing.getItem(key);
  }

  setItem(key: string, value: string): void {
    this.backing.setItem(key, scrubHeaders(value));
  }

  removeItem(key: string): void {
    this.backing.removeItem(key);
  }

  clear(): void {
    this.backing.clear();
  }
}
