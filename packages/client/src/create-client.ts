import type {
  Alert,
  AlertTransitionInput,
  ApiKeyInfo,
  Artifact,
  Audit,
  AuditSummary,
  CreateApiKeyInput,
  CreatedTenant,
  CreateEpisodeInput,
  CreateIndicatorInput,
  CreatePolicyInput,
  CreateTenantInput,
  CreateUnitInput,
  CyberneticEvent,
  Episode,
  EpisodeWriteResult,
  Indicator,
  IssuedApiKey,
  Job,
  ListAlertsInput,
  ListArtifactsInput,
  ListAuditsInput,
  ListEpisodesInput,
  ListEventsInput,
  ListNotificationsInput,
  ListPoliciesInput,
  ListPolicyEvaluationsInput,
  ListReadingsInput,
  ListUnitsInput,
  MoveUnitInput,
  Notification,
  Page,
  Policy,
  PolicyEvaluation,
  PolicyEvaluationPage,
  RaiseAlertInput,
  Reading,
  RecordedReadings,
  RecordReadingsInput,
  RunAuditInput,
  SystemNumber,
  SystemState,
  SystemStateHistoryEntry,
  Tenant,
  Unit,
  UpdateIndicatorInput,
  UpdatePolicyInput,
  UpdateSystemStateInput,
  UpdateTenantInput,
  UpdateUnitInput,
  Viability,
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

/** A history query: one page of `limit` entries (default 50), after `cursor`. */
export interface HistoryQuery {
  limit?: number;
  cursor?: string;
}

/**
 * One unit's five systems (`client.units.systems`): the same operations as `client.systems`, for any
 * unit of the tree (`client.systems` is the root unit's).
 */
export interface UnitSystemsClient {
  /** The unit's S1..S5 current states (`GET /v1/units/:id/systems`). */
  list(unitId: string): Promise<{ items: SystemState[] }>;
  /** One system's state and `version` (`GET /v1/units/:id/systems/:system`). */
  get(unitId: string, system: SystemNumber): Promise<SystemState>;
  /**
   * Replaces a system's state; send the `version` you read (409 `version_conflict` when stale). Writes
   * `system.state_changed` with the `unitId`.
   */
  update(unitId: string, system: SystemNumber, input: UpdateSystemStateInput): Promise<SystemState>;
  /** Every version of the state, newest first (`GET /v1/units/:id/systems/:system/history`). */
  history(unitId: string, system: SystemNumber, query?: HistoryQuery): Promise<Page<SystemStateHistoryEntry>>;
}

/** The client `createClient` returns. */
export interface CyberneticClient {
  /** The root unit's five systems (S1 operations … S5 policy); `units.systems` reads any unit's. */
  systems: {
    /** The five current states, at an event cursor (`GET /v1/systems`). */
    list(): Promise<ListResult<SystemState>>;
    /** One system's state and `version`. */
    get(system: SystemNumber): Promise<SystemState>;
    /** Replaces a system's state; send the `version` you read (409 `version_conflict` when stale). */
    update(system: SystemNumber, input: UpdateSystemStateInput): Promise<SystemState>;
    /** Every version of a system's state, newest first. */
    history(system: SystemNumber, query?: HistoryQuery): Promise<Page<SystemStateHistoryEntry>>;
  };
  /**
   * The tree of units: the tenant is the root, each unit a viable system with its own S1..S5.
   *
   * @example
   * ```ts
   * const { items } = await client.units.list();
   * const root = items[0]!;
   * const plant = await client.units.create({ name: "Plant 2", slug: "plant-2", parentId: root.id });
   * const { units } = await client.units.viability(root.id);
   * console.log(units.map((u) => `${u.unit.slug}: ${u.viable ? "viable" : "not viable"}`));
   * ```
   */
  units: {
    /** The whole tree, depth-first, the root first, at an event cursor (`GET /v1/units`). */
    list(query?: ListQuery<ListUnitsInput>): Promise<ListResult<Unit>>;
    /** Creates a unit below `parentId` (default the root), with its own five system states. */
    create(input: CreateUnitInput, options?: WriteOptions): Promise<Unit>;
    /** One unit. */
    get(id: string): Promise<Unit>;
    /** Renames a unit or changes its alert channels, escalation window or expected state interval. */
    update(id: string, input: UpdateUnitInput): Promise<Unit>;
    /** A unit and every unit below it, depth-first. */
    subtree(id: string, query?: ListQuery<ListUnitsInput>): Promise<{ items: Unit[] }>;
    /** Moves a unit, with everything below it, under another parent (409 `conflict` for a cycle). */
    move(id: string, input: MoveUnitInput): Promise<Unit>;
    /** Archives a unit that has no active children (idempotent). */
    archive(id: string): Promise<Unit>;
    /**
     * Viability at a glance for the unit and each unit below it: S1..S5 present and alive (and why not),
     * open alerts, latest audit findings.
     */
    viability(id: string): Promise<Viability>;
    /** Each unit's five systems. */
    systems: UnitSystemsClient;
  };
  /**
   * Beer's triple index: a unit's indicators (capability and potentiality) and their readings of
   * actuality, with productivity, latency, performance and the change detector's verdict.
   *
   * @example
   * ```ts
   * const indicator = await client.indicators.create(unitId, { name: "throughput", capability: 80, potentiality: 100 });
   * await client.indicators.record(unitId, indicator.id, { readings: [{ at: new Date().toISOString(), actuality: 64 }] });
   * const { items } = await client.indicators.readings(unitId, indicator.id, { limit: 500 });
   * ```
   */
  indicators: {
    /** Declares an indicator on a unit. */
    create(unitId: string, input: CreateIndicatorInput, options?: WriteOptions): Promise<Indicator>;
    /** A unit's indicators by name, each with its current targets and latest reading. */
    list(unitId: string): Promise<{ items: Indicator[] }>;
    /** One indicator, with every set of targets and its latest reading. */
    get(unitId: string, indicatorId: string): Promise<Indicator>;
    /** Renames an indicator, or gives it new targets from `effectiveFrom` (default now) on. */
    update(unitId: string, indicatorId: string, input: UpdateIndicatorInput): Promise<Indicator>;
    /** Records up to 1000 readings (idempotent by timestamp); a significant fall raises an alert. */
    record(
      unitId: string,
      indicatorId: string,
      input: RecordReadingsInput,
      options?: WriteOptions,
    ): Promise<RecordedReadings>;
    /** The series for plotting, in time order, bounded by `from` and `to`; pages of up to 1000. */
    readings(
      unitId: string,
      indicatorId: string,
      query?: ListQuery<ListReadingsInput>,
    ): Promise<Page<Reading>>;
  };
  /**
   * Algedonic alerts: raised, acknowledged, resolved; an unacknowledged pain alert climbs the unit tree.
   *
   * @example
   * ```ts
   * const open = await client.alerts.list({ status: "open" });
   * for (const alert of open.items) await client.alerts.acknowledge(alert.id, { by: "night shift" });
   * ```
   */
  alerts: {
    /** Alerts, newest first, by status (`open`: raised or acknowledged) and unit, at an event cursor. */
    list(query?: ListQuery<ListAlertsInput>): Promise<ListResult<Alert>>;
    /** Raises an algedonic signal by hand (pain by default); a `key` makes it idempotent. */
    raise(input: RaiseAlertInput, options?: WriteOptions): Promise<Alert>;
    /** One alert, with its escalation path (`escalations`) and who acknowledged or resolved it. */
    get(id: string): Promise<Alert>;
    /** Acknowledges an alert: it stops climbing (idempotent; 409 `conflict` once resolved). */
    acknowledge(id: string, input?: AlertTransitionInput): Promise<Alert>;
    /** Resolves an alert, raised or acknowledged (idempotent). */
    resolve(id: string, input?: AlertTransitionInput): Promise<Alert>;
  };
  /** S3* audits: run one now, read what they found. */
  audits: {
    /** Audits a unit and everything below it now (default the whole tenant); returns the findings. */
    run(input?: RunAuditInput, options?: WriteOptions): Promise<Audit>;
    /** Audits, newest first, their findings counted in `summary`. */
    list(query?: ListQuery<ListAuditsInput>): Promise<Page<AuditSummary>>;
    /** One audit with its findings. */
    get(id: string): Promise<Audit>;
  };
  /** What the platform sent on the tenant's behalf (alerts, policy `notify` actions), newest first. */
  notifications: {
    /** Notifications with their delivery status, attempts and last error. */
    list(query?: ListQuery<ListNotificationsInput>): Promise<Page<Notification>>;
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
    /** The policy's recorded evaluations, newest first, and its damping state (`for`, `cooldown`). */
    evaluations(id: string, query?: ListQuery<ListPolicyEvaluationsInput>): Promise<PolicyEvaluationPage>;
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
    /**
     * The tenant's recent events, newest first (as long as housekeeping keeps them); `type` filters like
     * a subscription: `*`, `episode.*` or an exact type.
     */
    list(query?: ListQuery<ListEventsInput>): Promise<Page<CyberneticEvent>>;
  };
}

const seg = encodeURIComponent;
const unitPath = (id: string) => `/v1/units/${seg(id)}`;
const indicatorPath = (unitId: string, indicatorId: string) =>
  `${unitPath(unitId)}/indicators/${seg(indicatorId)}`;
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
    units: {
      list: (query) => list({ method: "GET", path: "/v1/units", query: { ...query } }),
      create: (input, o) => call({ method: "POST", path: "/v1/units", json: input, ...write(o) }),
      get: (id) => call({ method: "GET", path: unitPath(id) }),
      update: (id, input) => call({ method: "PATCH", path: unitPath(id), json: input }),
      subtree: (id, query) => call({ method: "GET", path: `${unitPath(id)}/subtree`, query: { ...query } }),
      move: (id, input) => call({ method: "POST", path: `${unitPath(id)}/move`, json: input }),
      archive: (id) => call({ method: "POST", path: `${unitPath(id)}/archive` }),
      viability: (id) => call({ method: "GET", path: `${unitPath(id)}/viability` }),
      systems: {
        list: (unitId) => call({ method: "GET", path: `${unitPath(unitId)}/systems` }),
        get: (unitId, system) => call({ method: "GET", path: `${unitPath(unitId)}/systems/${system}` }),
        update: (unitId, system, input) =>
          call({ method: "PUT", path: `${unitPath(unitId)}/systems/${system}`, json: input }),
        history: (unitId, system, query) =>
          call({
            method: "GET",
            path: `${unitPath(unitId)}/systems/${system}/history`,
            query: { ...query },
          }),
      },
    },
    indicators: {
      create: (unitId, input, o) =>
        call({ method: "POST", path: `${unitPath(unitId)}/indicators`, json: input, ...write(o) }),
      list: (unitId) => call({ method: "GET", path: `${unitPath(unitId)}/indicators` }),
      get: (unitId, indicatorId) => call({ method: "GET", path: indicatorPath(unitId, indicatorId) }),
      update: (unitId, indicatorId, input) =>
        call({ method: "PATCH", path: indicatorPath(unitId, indicatorId), json: input }),
      record: (unitId, indicatorId, input, o) =>
        call({
          method: "POST",
          path: `${indicatorPath(unitId, indicatorId)}/readings`,
          json: input,
          ...write(o),
        }),
      readings: (unitId, indicatorId, query) =>
        call({ method: "GET", path: `${indicatorPath(unitId, indicatorId)}/readings`, query: { ...query } }),
    },
    alerts: {
      list: (query) => list({ method: "GET", path: "/v1/alerts", query: { ...query } }),
      raise: (input, o) => call({ method: "POST", path: "/v1/alerts", json: input, ...write(o) }),
      get: (id) => call({ method: "GET", path: `/v1/alerts/${seg(id)}` }),
      acknowledge: (id, input) => call({ method: "POST", path: `/v1/alerts/${seg(id)}/ack`, json: input }),
      resolve: (id, input) => call({ method: "POST", path: `/v1/alerts/${seg(id)}/resolve`, json: input }),
    },
    audits: {
      run: (input, o) => call({ method: "POST", path: "/v1/audits", json: input, ...write(o) }),
      list: (query) => call({ method: "GET", path: "/v1/audits", query: { ...query } }),
      get: (id) => call({ method: "GET", path: `/v1/audits/${seg(id)}` }),
    },
    notifications: {
      list: (query) => call({ method: "GET", path: "/v1/notifications", query: { ...query } }),
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
      evaluations: (id, query) =>
        call({ method: "GET", path: `/v1/policies/${seg(id)}/evaluations`, query: { ...query } }),
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
      list: (query) => call({ method: "GET", path: "/v1/events/recent", query: { ...query } }),
    },
  };
}
