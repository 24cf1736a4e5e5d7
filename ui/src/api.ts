/**
 * The one way the UI reaches Keel: its public REST APIs, with the token the person signed in with
 * (kept in this browser's session storage) as a bearer token, exactly as any API client.
 */
const TOKEN_KEY = 'keel.token';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const getToken = (): string | null => sessionStorage.getItem(TOKEN_KEY);
export function setToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

const headers = (json: boolean): Record<string, string> => {
  const token = getToken();
  return {
    ...(json ? { 'content-type': 'application/json' } : {}),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  };
};

async function failure(res: Response): Promise<ApiError> {
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { message: text };
  }
  return new ApiError(
    res.status,
    String(body.error_code ?? res.status),
    String(body.message ?? res.statusText),
    body,
  );
}

/** GET with a query string, or another method with a JSON body; answers the parsed JSON. */
export async function api<T>(path: string, options: { method?: string; query?: Query; body?: unknown } = {}) {
  const method = options.method ?? 'GET';
  const res = await fetch(`${path}${queryString(options.query)}`, {
    method,
    headers: headers(options.body !== undefined),
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (!res.ok) throw await failure(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

/** An artifact's bytes (downloads need the bearer token, so a plain link cannot fetch them). */
export async function fetchBlob(path: string): Promise<Blob> {
  const res = await fetch(path, { headers: headers(false) });
  if (!res.ok) throw await failure(res);
  return res.blob();
}

export const mlflow = (path: string) => `/api/2.0/mlflow/${path}`;
export const keel = (path: string) => `/api/2.0/keel/${path}`;

/** Proto3 JSON carries NaN and the infinities as strings. */
export const num = (v: number | string): number => (typeof v === 'number' ? v : Number(v));
