import { CyberneticApiError } from "./cybernetic-api-error.js";

/** How idempotent requests are retried. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 3. */
  retries?: number;
  /** First backoff; doubles each time, with jitter. Default 200 ms. */
  baseDelayMs?: number;
  /** Longest backoff (a server's `retry-after` is honoured up to this). Default 5000 ms. */
  maxDelayMs?: number;
}

/** Options of `createClient`. */
export interface ClientOptions {
  /** The gateway, e.g. `https://api.example.com` (no trailing path). */
  baseUrl: string;
  /** A tenant API key (or the admin key for `client.tenants`). */
  apiKey?: string;
  /** Asked for the credential before every request and every stream (re)connect; wins over `apiKey`. */
  getToken?: () => string | Promise<string>;
  /** A custom fetch (default: the global one). */
  fetch?: typeof fetch;
  /** Per request (not per stream). Default 30 000 ms. */
  timeoutMs?: number;
  /** Retry policy of idempotent requests; `false` disables retries. */
  retry?: RetryOptions | false;
}

/** One request as the methods describe it. */
export interface RequestSpec {
  method: "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | readonly string[] | undefined>;
  json?: unknown;
  body?: BodyInit;
  /** A body that cannot be sent twice (a stream): never retried. */
  streaming?: boolean;
  headers?: Record<string, string>;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/** Exponential backoff with full jitter, capped; a `retry-after` (seconds) wins when given. */
export function backoff(attempt: number, base: number, max: number, retryAfter?: string | null): number {
  const seconds = retryAfter ? Number(retryAfter) : Number.NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, max);
  const ceiling = Math.min(max, base * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** The error of a non-2xx answer, from the API's JSON error shape. */
export async function errorOf(response: Response): Promise<CyberneticApiError> {
  const requestId = response.headers.get("x-request-id") ?? undefined;
  let body: { error?: { code?: string; message?: string; details?: unknown }; requestId?: string } = {};
  try {
    body = (await response.json()) as typeof body;
  } catch {
    // Not JSON (a proxy's page): the status says enough.
  }
  return new CyberneticApiError(
    response.status,
    body.error?.code ?? `http_${response.status}`,
    body.error?.message ?? `HTTP ${response.status}`,
    body.error?.details,
    body.requestId ?? requestId,
  );
}

/** The HTTP layer every method goes through. */
export interface Transport {
  readonly baseUrl: string;
  readonly fetch: typeof fetch;
  readonly retry: Required<RetryOptions>;
  /** The credential for the next request. */
  credential(): Promise<string | undefined>;
  /** Sends with auth, timeout and retries; resolves with a 2xx response or throws `CyberneticApiError`. */
  send(spec: RequestSpec): Promise<Response>;
  /** `send`, then the JSON body. */
  json<T>(spec: RequestSpec): Promise<{ body: T; response: Response }>;
}

/** Builds the transport (see `ClientOptions`). */
export function createTransport(options: ClientOptions): Transport {
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const doFetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const timeoutMs = options.timeoutMs ?? 30_000;
  const retry: Required<RetryOptions> =
    options.retry === false
      ? { retries: 0, baseDelayMs: 0, maxDelayMs: 0 }
      : { retries: 3, baseDelayMs: 200, maxDelayMs: 5000, ...options.retry };
  const credential = async () => (options.getToken ? await options.getToken() : options.apiKey);

  const url = (spec: RequestSpec) => {
    const u = new URL(`${baseUrl}${spec.path}`);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value === undefined) continue;
      if (Array.isArray(value)) for (const v of value) u.searchParams.append(key, String(v));
      else u.searchParams.set(key, String(value));
    }
    return u.toString();
  };

  const attempt = async (spec: RequestSpec): Promise<Response> => {
    const headers: Record<string, string> = { accept: "application/json", ...spec.headers };
    const key = await credential();
    if (key) headers.authorization = `Bearer ${key}`;
    if (spec.idempotencyKey) headers["idempotency-key"] = spec.idempotencyKey;
    let body = spec.body;
    if (spec.json !== undefined) {
      body = JSON.stringify(spec.json);
      headers["content-type"] = "application/json";
    }
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = spec.signal ? AbortSignal.any([spec.signal, timeout]) : timeout;
    const init: RequestInit & { duplex?: "half" } = { method: spec.method, headers, signal };
    if (body !== undefined) init.body = body;
    if (spec.streaming) init.duplex = "half";
    try {
      return await doFetch(url(spec), init);
    } catch (error) {
      if (spec.signal?.aborted) throw error;
      const timedOut = timeout.aborted;
      throw new CyberneticApiError(
        0,
        timedOut ? "timeout" : "network_error",
        timedOut ? `no answer within ${timeoutMs} ms` : `the request failed: ${(error as Error)?.message}`,
        undefined,
        undefined,
        { cause: error },
      );
    }
  };

  const send = async (spec: RequestSpec): Promise<Response> => {
    const idempotent =
      !spec.streaming &&
      (spec.method === "GET" ||
        spec.method === "HEAD" ||
        spec.method === "PUT" ||
        spec.method === "DELETE" ||
        spec.idempotencyKey !== undefined);
    const retries = idempotent ? retry.retries : 0;
    for (let n = 0; ; n++) {
      let response: Response | undefined;
      let failure: CyberneticApiError | undefined;
      try {
        response = await attempt(spec);
      } catch (error) {
        if (!CyberneticApiError.isInstance(error)) throw error;
        failure = error;
      }
      if (response?.ok) return response;
      const retryable = failure !== undefined || response?.status === 503;
      if (!retryable || n >= retries) throw failure ?? (await errorOf(response as Response));
      const wait = backoff(n, retry.baseDelayMs, retry.maxDelayMs, response?.headers.get("retry-after"));
      await response?.body?.cancel().catch(() => {});
      await sleep(wait, spec.signal);
    }
  };

  return {
    baseUrl,
    fetch: doFetch,
    retry,
    credential,
    send,
    async json<T>(spec: RequestSpec) {
      const response = await send(spec);
      const text = await response.text();
      return { body: (text === "" ? undefined : JSON.parse(text)) as T, response };
    },
  };
}
