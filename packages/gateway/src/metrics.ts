import { type Db, poolOf } from "@cybernetic/core";
import { sql } from "kysely";
import { Counter, collectDefaultMetrics, Gauge, type Metric, Registry } from "prom-client";
import type { GatewayQueue } from "./gateway-dependencies.js";
import { RequestSeries } from "./internal/request-series.js";
import { withTimeout } from "./internal/timeout.js";
import type { CheckResult, ReadinessReport } from "./readiness.js";

/**
 * prom-client's default metrics include three gauges whose names end in `_total`
 * (`nodejs_active_{handles,requests,resources}_total`); Prometheus reserves that suffix for counters and
 * `promtool check metrics` flags them. The same numbers remain available without the suffix
 * (`nodejs_active_handles`, `nodejs_active_requests`, `nodejs_active_resources`), so these are dropped.
 */
const LINT_FAILING_DEFAULTS = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** Every state a readiness check can be in (the `state` label of `cybernetic_ready_check`). */
const READY_STATES = [
  "ok",
  "degraded",
  "failed",
  "disabled",
] as const satisfies readonly CheckResult["status"][];

/** Status classes, indexed by `Math.floor(status / 100) - 1`. */
const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

/** Outcomes of a job, as `cybernetic_jobs_total{outcome}` counts them (the workers' fixed set). */
export type JobOutcome = "completed" | "failed" | "dead_lettered" | "deferred";
/**
 * Outcomes of a Telegram update at the webhook: `queued` (it will be handled), `duplicate` (re-sent),
 * `ignored` (a kind ignored on purpose), `rate_limited` (its chat is over the limit) and `rejected`
 * (a missing or wrong secret, a refused webhook, a body that is not an update; malformed JSON, 413 and
 * 415 are counted by `cybernetic_http_requests_total` only).
 */
export type TelegramOutcome = "queued" | "duplicate" | "ignored" | "rate_limited" | "rejected";

/** Pre-bound metric children for one route, so recording a request does no label hashing. */
export interface RouteRecorder {
  record(status: number, seconds: number): void;
}

/** The gateway's metrics, on its own registry. */
export interface GatewayMetrics {
  readonly registry: Registry;
  /** A recorder for one route template and method (call once per route, keep the result). */
  route(method: string, template: string): RouteRecorder;
  /** Requests being served now. */
  inFlight: number;
  /** SSE: a stream opened (+1) or closed (-1). */
  sseConnections(delta: 1 | -1): void;
  /** SSE: events written to clients. */
  sseEventsDelivered(count?: number): void;
  /** SSE: a consumer too slow to keep up was disconnected. */
  sseSlowConsumerDropped(): void;
  /** A job finished (fed by the in-process workers). */
  jobFinished(queue: string, outcome: JobOutcome): void;
  /** Bytes moved to (`in`) or from (`out`) storage. */
  storageBytes(direction: "in" | "out", bytes: number): void;
  /** The webhook answered a Telegram update. */
  telegramUpdate(outcome: TelegramOutcome): void;
  /** The latest readiness report (each `GET /ready`), for `cybernetic_ready_check`. */
  readiness(report: ReadinessReport): void;
  /** The exposition in Prometheus text format. */
  render(): Promise<string>;
  /** The exposition's content type. */
  readonly contentType: string;
}

/** Options of `createGatewayMetrics`. */
export interface GatewayMetricsOptions {
  /** Registry to register on; default: a new one (never prom-client's global registry). */
  registry?: Registry;
  /** The runtime database, for pool gauges. */
  db?: Db;
  /** For queue depth gauges (`queue.depths()`, collected at scrape time). */
  queue?: GatewayQueue;
  /** Longest a scrape waits for `queue.depths()`. */
  collectTimeoutMs?: number;
  /**
   * Show the latest indices of at most this many indicators, labelled by unit and indicator id (the
   * operator's opt-in; default 0: aggregates only).
   */
  indicatorSeries?: number;
}

/** The three indices of Beer's triple index (the `index` label). */
const INDICES = ["productivity", "latency", "performance"] as const;
/** What the change detector said about an indicator's latest reading (the `status` label). */
const INDICATOR_STATUSES = ["warmup", "in_band", "outlier", "change"] as const;

/**
 * Creates the gateway's metrics. Label values are fixed sets (method, route template, status class,
 * queue name, outcome): never tenant ids, raw paths or other user input.
 *
 * @example
 * ```ts
 * const metrics = createGatewayMetrics({ db: platform.db });
 * const recorder = metrics.route("GET", "/v1/episodes");
 * recorder.record(200, 0.004);
 * ```
 */
export function createGatewayMetrics(options: GatewayMetricsOptions = {}): GatewayMetrics {
  const registry = options.registry ?? new Registry();
  const registers = [registry];
  collectDefaultMetrics({ register: registry });
  for (const name of LINT_FAILING_DEFAULTS) registry.removeSingleMetric(name);

  const series = new RequestSeries([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  // Plain objects with prom-client's metric shape (name, help, type, get); see request-series.ts.
  registry.registerMetric(
    series.counter(
      "cybernetic_http_requests_total",
      "HTTP requests served, by method, route template and status class.",
    ) as unknown as Metric,
  );
  registry.registerMetric(
    series.histogram(
      "cybernetic_http_request_duration_seconds",
      "Time from receiving a request to handing its response to Node, by method, route template and status class.",
    ) as unknown as Metric,
  );
  const state = { inFlight: 0 };
  new Gauge({
    name: "cybernetic_http_requests_in_flight",
    help: "HTTP requests being served.",
    registers,
    collect() {
      this.set(state.inFlight);
    },
  });

  const sseConnections = new Gauge({
    name: "cybernetic_sse_connections",
    help: "Open server-sent event streams.",
    registers,
  });
  const sseEvents = new Counter({
    name: "cybernetic_sse_events_delivered_total",
    help: "Events written to server-sent event streams.",
    registers,
  });
  const sseSlow = new Counter({
    name: "cybernetic_sse_slow_consumers_dropped_total",
    help: "Server-sent event streams cut off because their consumer fell too far behind.",
    registers,
  });
  const jobs = new Counter({
    name: "cybernetic_jobs_total",
    help: "Jobs finished by the in-process workers, by queue and outcome.",
    labelNames: ["queue", "outcome"] as const,
    registers,
  });
  const storageBytes = new Counter({
    name: "cybernetic_storage_bytes_total",
    help: "Bytes written to (in) and read from (out) storage.",
    labelNames: ["direction"] as const,
    registers,
  });
  storageBytes.labels({ direction: "in" }).inc(0);
  storageBytes.labels({ direction: "out" }).inc(0);
  const telegram = new Counter({
    name: "cybernetic_telegram_updates_total",
    help: "Telegram updates answered by the webhook, by outcome (queued, duplicate, ignored, rate_limited, rejected).",
    labelNames: ["outcome"] as const,
    registers,
  });
  for (const outcome of ["queued", "duplicate", "ignored", "rate_limited", "rejected"] as const) {
    telegram.labels({ outcome }).inc(0);
  }

  const queue = options.queue;
  const collectTimeoutMs = options.collectTimeoutMs ?? 2_000;
  if (queue?.depths) {
    const depths = queue.depths.bind(queue);
    new Gauge({
      name: "cybernetic_queue_depth",
      help: "Jobs waiting to be processed, by queue.",
      labelNames: ["queue"] as const,
      registers,
      async collect() {
        // A slow or failing queue must not break the whole scrape; the gauge then keeps its last values.
        try {
          const values = await withTimeout(depths(), collectTimeoutMs, "queue depths timed out");
          for (const [name, depth] of Object.entries(values)) this.set({ queue: name }, depth);
        } catch {}
      },
    });
  }

  // One series per check and state, 1 for the state it is in (a state set: alert on
  // `cybernetic_ready_check{state="degraded"} == 1`). Updated by each GET /ready.
  const readyCheck = new Gauge({
    name: "cybernetic_ready_check",
    help: "State of each readiness check at the latest GET /ready (1 for its current state, else 0).",
    labelNames: ["check", "state"] as const,
    registers,
  });

  const db = options.db;
  if (db) {
    let pool: ReturnType<typeof poolOf> | undefined;
    try {
      pool = poolOf(db);
    } catch {
      pool = undefined; // not made by createDatabase(): no pool to report on
    }
    if (pool) {
      const p = pool;
      new Gauge({
        name: "cybernetic_db_pool_connections",
        help: "Connections in the runtime database pool.",
        registers,
        collect() {
          this.set(p.totalCount);
        },
      });
      new Gauge({
        name: "cybernetic_db_pool_idle_connections",
        help: "Idle connections in the runtime database pool.",
        registers,
        collect() {
          this.set(p.idleCount);
        },
      });
      new Gauge({
        name: "cybernetic_db_pool_waiting_clients",
        help: "Queries waiting for a connection from the runtime database pool.",
        registers,
        collect() {
          this.set(p.waitingCount);
        },
      });
    }
  }

  if (db) {
    // Beer's triple index across tenants: counts and means only, so the labels are fixed sets. Read at
    // scrape time through SECURITY DEFINER functions that return no names and no tenant ids.
    // Both gauges come from one query per scrape: prom-client collects metrics concurrently, so the
    // second collect joins the query the first one started.
    type OverviewRow = {
      status: string;
      indicators: string;
      productivity: number;
      latency: number;
      performance: number;
    };
    let overview: Promise<OverviewRow[]> | undefined;
    const readOverview = () => {
      overview ??= withTimeout(
        sql<OverviewRow>`select * from cybernetic.indicator_overview()`.execute(db),
        collectTimeoutMs,
        "indicator overview timed out",
      )
        .then((result) => result.rows)
        .finally(() => {
          overview = undefined;
        });
      return overview;
    };
    new Gauge({
      name: "cybernetic_indicators",
      help: "Indicators, by what the change detector said about their latest reading.",
      labelNames: ["status"] as const,
      registers,
      async collect() {
        try {
          const rows = await readOverview();
          for (const status of INDICATOR_STATUSES) {
            this.set({ status }, Number(rows.find((r) => r.status === status)?.indicators ?? 0));
          }
        } catch {}
      },
    });
    new Gauge({
      name: "cybernetic_indicator_index_mean",
      help: "Mean of each index (productivity, latency, performance) over every indicator's latest reading.",
      labelNames: ["index"] as const,
      registers,
      async collect() {
        try {
          const rows = await readOverview();
          const total = rows.reduce((n, r) => n + Number(r.indicators), 0);
          for (const index of INDICES) {
            const sum = rows.reduce((n, r) => n + r[index] * Number(r.indicators), 0);
            this.set({ index }, total === 0 ? 0 : sum / total);
          }
        } catch {}
      },
    });
    const cap = Math.max(0, Math.min(options.indicatorSeries ?? 0, 1_000));
    if (cap > 0) {
      new Gauge({
        name: "cybernetic_indicator_index",
        help: `Latest index of each indicator, by unit and indicator id (at most ${cap} indicators, the most recently read).`,
        labelNames: ["unit_id", "indicator_id", "index"] as const,
        registers,
        async collect() {
          try {
            const { rows } = await withTimeout(
              sql<{
                unit_id: string;
                indicator_id: string;
                productivity: number;
                latency: number;
                performance: number;
              }>`
                select * from cybernetic.indicator_latest(${cap})`.execute(db),
              collectTimeoutMs,
              "indicator series timed out",
            );
            // Only the current top `cap`: an indicator that fell out of it leaves no stale series.
            this.reset();
            for (const row of rows) {
              for (const index of INDICES) {
                this.set({ unit_id: row.unit_id, indicator_id: row.indicator_id, index }, row[index]);
              }
            }
          } catch {}
        },
      });
    }
  }

  return {
    registry,
    get inFlight() {
      return state.inFlight;
    },
    set inFlight(value: number) {
      state.inFlight = value;
    },
    route(method, template) {
      const byStatusClass = STATUS_CLASSES.map((status_class) =>
        series.create({ method, route: template, status_class }),
      );
      return {
        record(status, seconds) {
          const index = Math.min(4, Math.max(0, Math.floor(status / 100) - 1));
          (byStatusClass[index] as (typeof byStatusClass)[number]).observe(seconds);
        },
      };
    },
    sseConnections: (delta) => sseConnections.inc(delta),
    sseEventsDelivered: (count = 1) => sseEvents.inc(count),
    sseSlowConsumerDropped: () => sseSlow.inc(),
    jobFinished: (queueName, outcome) => jobs.labels({ queue: queueName, outcome }).inc(),
    storageBytes: (direction, bytes) => storageBytes.labels({ direction }).inc(bytes),
    telegramUpdate: (outcome) => telegram.labels({ outcome }).inc(),
    readiness(report) {
      for (const [check, result] of Object.entries(report.checks)) {
        for (const state of READY_STATES) readyCheck.set({ check, state }, result.status === state ? 1 : 0);
      }
    },
    render: () => registry.metrics(),
    get contentType() {
      return registry.contentType;
    },
  };
}
