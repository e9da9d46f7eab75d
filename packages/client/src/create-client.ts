import type {
  ApiKeyInfo,
  Artifact,
  CreateApiKeyInput,
  CreatedTenant,
  CreateEpisodeInput,
  CreatePolicyInput,
  CreateTenantInput,
  Episode,
  EpisodeWriteResult,
  IssuedApiKey,
  Job,
  ListArtifactsInput,
  ListEpisodesInput,
  ListPoliciesInput,
  Page,
  Policy,
  PolicyEvaluation,
  SystemNumber,
  SystemState,
  SystemStateHistoryEntry,
  Tenant,
  UpdatePolicyInput,
  UpdateSystemStateInput,
  UpdateTenantInput,
} from "./contract-types.js";
import { type StreamItem, type SubscribeOptions, subscribeEvents } from "./event-stream.js";
import { type ClientOptions, createTransport, type RequestSpec } from "./transport.js";
import { type ArtifactBody, type UploadOptions, uploadBody } from "./upload-body.js";

/** A list answer: the page and the outbox cursor it was read at (`subscribe({ after: cursor })`). */
export type ListResult<T> = Page<T> & {
  /** The `x-event-cursor` of the answer: subscribe after it to miss nothing and see nothing twice. */
  cursor: string;
};

/** A list's query: the contract's fields, with `limit` a number. */
export type ListQuery<T> = { [K in keyof T]?: K extends "limit" ? number : T[K] };

/** Options of a write that may be retried safely with an `Idempotency-Key`. */
export interface WriteOptions {
  /** Makes a POST safe to retry: the server runs it once per key; the client then retries it too. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** A downloaded artifact: its record (from the headers) and its bytes as a stream. */
export interface ArtifactDownload {
  contentType: string;
  size: number;
  sha256: string | undefined;
  body: ReadableStream<Uint8Array>;
}

/** The client `createClient` returns. */
export interface CyberneticClient {
  systems: {
    list(): Promise<ListResult<SystemState>>;
    get(system: SystemNumber): Promise<SystemState>;
    update(system: SystemNumber, input: UpdateSystemStateInput): Promise<SystemState>;
    history(
      system: SystemNumber,
      query?: { limit?: number; cursor?: string },
    ): Promise<Page<SystemStateHistoryEntry>>;
  };
  episodes: {
    create(input: CreateEpisodeInput, options?: WriteOptions): Promise<EpisodeWriteResult>;
    list(query?: ListQuery<ListEpisodesInput>): Promise<ListResult<Episode>>;
    get(id: string): Promise<Episode>;
    analyze(id: string, options?: WriteOptions): Promise<EpisodeWriteResult>;
  };
  policies: {
    create(input: CreatePolicyInput, options?: WriteOptions): Promise<Policy>;
    list(query?: ListQuery<ListPoliciesInput>): Promise<ListResult<Policy>>;
    get(id: string): Promise<Policy>;
    update(id: string, input: UpdatePolicyInput): Promise<Policy>;
    delete(id: string): Promise<void>;
    evaluate(
      id: string,
      input: { event: { type: string; data?: Record<string, unknown> } },
    ): Promise<PolicyEvaluation>;
  };
  artifacts: {
    list(query?: ListQuery<ListArtifactsInput>): Promise<ListResult<Artifact>>;
    /** Uploads from a Blob, ReadableStream, Uint8Array or Node Readable, with an optional progress callback. */
    put(path: string, body: ArtifactBody, options?: UploadOptions): Promise<Artifact>;
    /** Downloads as a stream (never buffered whole). */
    get(path: string, options?: { signal?: AbortSignal }): Promise<ArtifactDownload>;
    head(path: string): Promise<Omit<ArtifactDownload, "body">>;
    delete(path: string): Promise<void>;
  };
  jobs: { get(id: string): Promise<Job> };
  apiKeys: { list(): Promise<{ items: ApiKeyInfo[] }>; revoke(id: string): Promise<ApiKeyInfo> };
  /** The admin API (the client's credential must be the admin key). */
  tenants: {
    create(input: CreateTenantInput, options?: WriteOptions): Promise<CreatedTenant>;
    list(query?: { limit?: number; cursor?: string }): Promise<Page<Tenant>>;
    get(id: string): Promise<Tenant>;
    /**
     * Renames a tenant and/or merges a JSON Merge Patch into its settings (`null` removes a member).
     * Secret-looking members (`telegram.botToken`, `webhookSecret`, …) are write-only: the answer shows
     * them as `"[redacted]"`.
     */
    update(id: string, input: UpdateTenantInput): Promise<Tenant>;
    deactivate(id: string): Promise<Tenant>;
    activate(id: string): Promise<Tenant>;
    createApiKey(id: string, input: CreateApiKeyInput): Promise<IssuedApiKey>;
    listApiKeys(id: string): Promise<{ items: ApiKeyInfo[] }>;
    revokeApiKey(id: string, keyId: string): Promise<ApiKeyInfo>;
  };
  events: {
    /**
     * The tenant's events as an async iterator that reconnects and resumes by itself.
     *
     * @example
     * ```ts
     * const page = await client.episodes.list();
     * for await (const event of client.events.subscribe({ topics: ["episode.*"], after: page.cursor, signal })) {
     *   if (event.type === "episode.analyzed") console.log(event.data.risk);
     * }
     * ```
     */
    subscribe(options?: SubscribeOptions): AsyncGenerator<StreamItem, void, undefined>;
    /** A short-lived token for a native `EventSource` (`/v1/events?token=`). */
    token(): Promise<{ token: string; expiresAt: string }>;
  };
}

const seg = encodeURIComponent;
const artifactPath = (path: string) => `/v1/artifacts/${path.split("/").map(seg).join("/")}`;

/**
 * Creates a typed client of the Cybernetic API, for browsers and Node ≥ 20.
 *
 * @example
 * ```ts
 * const client = createClient({ baseUrl: "http://localhost:8080", apiKey: process.env.CYBERNETIC_KEY });
 * const { episode } = await client.episodes.create({ title: "Line 3 stopped", content: "Twice tonight." });
 * ```
 */
export function createClient(options: ClientOptions): CyberneticClient {
  const t = createTransport(options);
  const call = async <T>(spec: RequestSpec) => (await t.json<T>(spec)).body;
  const list = async <T>(spec: RequestSpec): Promise<ListResult<T>> => {
    const { body, response } = await t.json<Page<T>>(spec);
    return { ...body, cursor: response.headers.get("x-event-cursor") ?? "0" };
  };
  const write = (o: WriteOptions | undefined) => ({
    ...(o?.idempotencyKey ? { idempotencyKey: o.idempotencyKey } : {}),
    ...(o?.signal ? { signal: o.signal } : {}),
  });
  const described = (response: Response) => ({
    contentType: response.headers.get("content-type") ?? "application/octet-stream",
    size: Number(response.headers.get("content-length") ?? 0),
    sha256: response.headers.get("x-cybernetic-sha256") ?? undefined,
  });

  return {
    systems: {
      list: () => list({ method: "GET", path: "/v1/systems" }),
      get: (system) => call({ method: "GET", path: `/v1/systems/${system}` }),
      update: (system, input) => call({ method: "PUT", path: `/v1/systems/${system}`, json: input }),
      history: (system, query) =>
        call({ method: "GET", path: `/v1/systems/${system}/history`, query: { ...query } }),
    },
    episodes: {
      create: (input, o) => call({ method: "POST", path: "/v1/episodes", json: input, ...write(o) }),
      list: (query) => list({ method: "GET", path: "/v1/episodes", query: { ...query } }),
      get: (id) => call({ method: "GET", path: `/v1/episodes/${seg(id)}` }),
      analyze: (id, o) => call({ method: "POST", path: `/v1/episodes/${seg(id)}/analyze`, ...write(o) }),
    },
    policies: {
      create: (input, o) => call({ method: "POST", path: "/v1/policies", json: input, ...write(o) }),
      list: (query) => list({ method: "GET", path: "/v1/policies", query: { ...query } }),
      get: (id) => call({ method: "GET", path: `/v1/policies/${seg(id)}` }),
      update: (id, input) => call({ method: "PATCH", path: `/v1/policies/${seg(id)}`, json: input }),
      delete: async (id) => {
        await t.send({ method: "DELETE", path: `/v1/policies/${seg(id)}` });
      },
      evaluate: (id, input) =>
        call({ method: "POST", path: `/v1/policies/${seg(id)}/evaluate`, json: input }),
    },
    artifacts: {
      list: (query) => list({ method: "GET", path: "/v1/artifacts", query: { ...query } }),
      put: async (path, body, o = {}) => {
        const upload = uploadBody(body, o.onProgress);
        const headers: Record<string, string> = {
          "content-type": o.contentType ?? "application/octet-stream",
        };
        for (const [name, value] of Object.entries(o.metadata ?? {}))
          headers[`x-cybernetic-meta-${name}`] = value;
        if (o.expiresAt) headers["x-cybernetic-expires-at"] = o.expiresAt;
        return call({
          method: "PUT",
          path: artifactPath(path),
          body: upload.body,
          streaming: upload.streaming,
          headers,
          ...(o.signal ? { signal: o.signal } : {}),
        });
      },
      get: async (path, o) => {
        const response = await t.send({
          method: "GET",
          path: artifactPath(path),
          headers: { accept: "*/*" },
          ...(o?.signal ? { signal: o.signal } : {}),
        });
        return { ...described(response), body: response.body ?? new Blob([]).stream() };
      },
      head: async (path) => described(await t.send({ method: "HEAD", path: artifactPath(path) })),
      delete: async (path) => {
        await t.send({ method: "DELETE", path: artifactPath(path) });
      },
    },
    jobs: { get: (id) => call({ method: "GET", path: `/v1/jobs/${seg(id)}` }) },
    apiKeys: {
      list: () => call({ method: "GET", path: "/v1/api-keys" }),
      revoke: (id) => call({ method: "DELETE", path: `/v1/api-keys/${seg(id)}` }),
    },
    tenants: {
      create: (input, o) => call({ method: "POST", path: "/v1/tenants", json: input, ...write(o) }),
      list: (query) => call({ method: "GET", path: "/v1/tenants", query: { ...query } }),
      get: (id) => call({ method: "GET", path: `/v1/tenants/${seg(id)}` }),
      update: (id, input) => call({ method: "PATCH", path: `/v1/tenants/${seg(id)}`, json: input }),
      deactivate: (id) => call({ method: "POST", path: `/v1/tenants/${seg(id)}/deactivate` }),
      activate: (id) => call({ method: "POST", path: `/v1/tenants/${seg(id)}/activate` }),
      createApiKey: (id, input) =>
        call({ method: "POST", path: `/v1/tenants/${seg(id)}/api-keys`, json: input }),
      listApiKeys: (id) => call({ method: "GET", path: `/v1/tenants/${seg(id)}/api-keys` }),
      revokeApiKey: (id, keyId) =>
        call({ method: "DELETE", path: `/v1/tenants/${seg(id)}/api-keys/${seg(keyId)}` }),
    },
    events: {
      subscribe: (subscribeOptions) => subscribeEvents(t, subscribeOptions),
      token: () => call({ method: "POST", path: "/v1/events/token" }),
    },
  };
}
