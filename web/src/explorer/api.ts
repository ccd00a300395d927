// The explorer's only way to the server: POST /graphql with one named document and the signed-in token.
import { token } from "./session";

export interface Problem {
  field: string;
  message: string;
  code: string;
}

export interface GraphQLErrorBody {
  message: string;
  extensions?: { code?: string; problems?: Problem[] };
}

/** A request the server refused or could not answer; `errors` are the GraphQL errors as sent. */
export class RequestFailed extends Error {
  constructor(
    message: string,
    readonly errors: GraphQLErrorBody[],
    readonly status: number,
  ) {
    super(message);
  }

  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }

  get problems(): Problem[] {
    return this.errors.flatMap((error) => error.extensions?.problems ?? []);
  }
}

function operationName(document: string): string | undefined {
  return /\b(?:query|mutation|subscription)\s+([A-Za-z_][A-Za-z0-9_]*)/.exec(document)?.[1];
}

export async function request<T>(document: string, variables: Record<string, unknown> = {}): Promise<T> {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  const secret = token();
  if (secret) {
    headers.Authorization = `Bearer ${secret}`;
  }
  const response = await fetch("/graphql", {
    method: "POST",
    headers,
    body: JSON.stringify({ query: document, variables, operationName: operationName(document) }),
  });
  // Transport refusals (a bad token, an oversized body) come in the same GraphQL error shape.
  let body: { data?: T | null; errors?: GraphQLErrorBody[] };
  try {
    body = await response.json();
  } catch {
    throw new RequestFailed(`The server answered ${response.status} without JSON`, [], response.status);
  }
  if (body.errors && body.errors.length > 0) {
    throw new RequestFailed(body.errors.map((e) => e.message).join("; "), body.errors, response.status);
  }
  if (!response.ok || body.data === undefined || body.data === null) {
    throw new RequestFailed(`The server answered ${response.status}`, [], response.status);
  }
  return body.data;
}
