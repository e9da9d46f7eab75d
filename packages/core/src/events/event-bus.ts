import { sql } from "kysely";
import pg from "pg";
import { type CyberneticEvent, matchesEventPattern } from "../contract/events.js";
import type { Db } from "../database.js";
import { retryIdempotent } from "../database-errors.js";
import { eventPatternFilter } from "../internal/event-pattern-filter.js";
import { type Logger, silentLogger } from "../logger.js";
import { withTenant } from "../tenant-context.js";

/** Options of `createEventBus`. */
export interface EventBusOptions {
  /** The runtime database (for publishing and reading). */
  db: Db;
  /** Connection string for the one LISTEN connection this process holds. */
  listenUrl: string;
  logger?: Logger;
  /** Events read per query. Default 500. */
  batchSize?: number;
  /**
   * Safety net: publish and read on this interval even without notifications (covers notifications lost
   * while the LISTEN connection was reconnecting). Default 2000 ms.
   */
  pollIntervalMs?: number;
  /** Start delivering after this id; default: the newest published id at start (only new events). */
  startAfter?: string;
}

/** Which events a subscriber receives. */
export interface EventFilter {
  /** Only this tenant's events; omit for every tenant (workers). */
  tenantId?: string;
  /** Exact types, `category.*` or `*`; omit for all. */
  patterns?: readonly string[];
}

/** A live subscriber's callback. Called in id order; must not block (queue work elsewhere). */
export type EventHandler = (event: CyberneticEvent) => void;

/** The result of `replay`. */
export interface ReplayResult {
  events: CyberneticEvent[];
  /** True when the cursor is older than retention (or from another database): the client must resync. */
  resync: boolean;
}

/**
 * One process's view of the outbox: publishes committed events (assigns their ids, see migration 0001),
 * listens for new ones on a single connection and fans them out to local subscribers. Any number of
 * processes can run one; each delivers every event to its own subscribers.
 */
export interface EventBus {
  /** Connects the LISTEN connection and starts delivering. */
  start(): Promise<void>;
  /**
   * Subscribes to live events; returns the unsubscribe function.
   *
   * @example
   * ```ts
   * const off = bus.subscribe({ tenantId, patterns: ["episode.*"] }, (event) => console.log(event.type));
   * ```
   */
  subscribe(filter: EventFilter, handler: EventHandler): () => void;
  /**
   * A tenant's events after `afterId` (exclusive), for resuming a stream (`Last-Event-ID`). Reads under
   * row-level security.
   */
  replay(
    tenantId: string,
    afterId: string,
    options?: { patterns?: readonly string[]; limit?: number },
  ): Promise<ReplayResult>;
  /** Publishes and reads now (tests and shutdown use it; normally notifications drive it). */
  flush(): Promise<void>;
  /** The last id delivered to subscribers. */
  readonly lastId: string;
  /** Number of live subscribers. */
  readonly subscriberCount: number;
  /** Stops listening and polling; subscribers stay registered but receive nothing more. */
  stop(): Promise<void>;
}

interface Row {
  id: string;
  tenant_id: string;
  type: string;
  data: Record<string, unknown>;
  created_at: Date;
}

/** Maps an outbox row to the public event shape. */
export function toEvent(row: Row): CyberneticEvent {
  // The outbox holds only what appendEvent validated against the event registry.
  return {
    id: String(row.id),
    type: row.type,
    tenantId: row.tenant_id,
    occurredAt: row.created_at.toISOString(),
    data: row.data,
  } as CyberneticEvent;
}

const matches = (filter: EventFilter, event: CyberneticEvent) =>
  (filter.tenantId === undefined || filter.tenantId === event.tenantId) &&
  (filter.patterns === undefined || filter.patterns.some((p) => matchesEventPattern(p, event.type)));

/**
 * Creates the event bus.
 *
 * @example
 * ```ts
 * const bus = createEventBus({ db, listenUrl: config.url, logger });
 * await bus.start();
 * ```
 */
export function createEventBus(options: EventBusOptions): EventBus {
  const { db } = options;
  const logger = options.logger ?? silentLogger;
  const batchSize = options.batchSize ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 2000;
  const subscribers = new Map<number, { filter: EventFilter; handler: EventHandler }>();
  let nextSubscriber = 1;
  let cursor = options.startAfter ?? "";
  let client: pg.Client | undefined;
  let running = false;
  let poll: NodeJS.Timeout | undefined;
  let publishRetry: NodeJS.Timeout | undefined;
  let publishBackoff = 10;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let reconnectDelay = 100;
  let reconnectAttempts = 0;
  let lostAt: number | undefined;

  // While the database is away every tick fails the same way: say so once, and once when it is back.
  let failing = false;
  const firstLine = (error: unknown) =>
    String(error instanceof Error ? error.message : error)
      .split("\n")[0]
      ?.slice(0, 300);

  // Coalescing single-flight runners: a request while one runs schedules exactly one more run.
  const singleFlight = (work: () => Promise<void>) => {
    let current: Promise<void> | undefined;
    let again = false;
    const run = (): Promise<void> => {
      if (current) {
        again = true;
        return current;
      }
      current = (async () => {
        do {
          again = false;
          try {
            await work();
            if (failing) {
              failing = false;
              logger.info({}, "event bus: the outbox answers again; delivery resumed");
            }
          } catch (error) {
            if (running && !failing) {
              failing = true;
              logger.warn(
                { reason: firstLine(error) },
                "event bus: reading the outbox failed; retrying on every tick until it answers",
              );
            }
          }
        } while (again && running);
      })().finally(() => {
        current = undefined;
      });
      return current;
    };
    return run;
  };

  const publish = singleFlight(async () => {
    clearTimeout(publishRetry);
    for (;;) {
      const { rows } = await sql<{
        last: string | null;
      }>`select cybernetic.publish_events(${batchSize}) as last`.execute(db);
      if (rows[0]?.last == null) break;
    }
    // Events of transactions older than one still running wait for it; look again soon, backing off.
    const { rows } = await sql<{ n: string }>`select cybernetic.unpublished_events() as n`.execute(db);
    if (Number(rows[0]?.n ?? 0) > 0 && running) {
      publishRetry = setTimeout(() => void publish(), publishBackoff);
      publishBackoff = Math.min(publishBackoff * 2, 1000);
    } else {
      publishBackoff = 10;
    }
  });

  const read = singleFlight(async () => {
    for (;;) {
      const { rows } =
        await sql<Row>`select * from cybernetic.read_events(${cursor || "0"}, ${batchSize})`.execute(db);
      for (const row of rows) {
        const event = toEvent(row);
        cursor = event.id;
        for (const { filter, handler } of subscribers.values()) {
          if (!matches(filter, event)) continue;
          try {
            handler(event);
          } catch (error) {
            logger.error({ err: error, eventId: event.id }, "event bus: subscriber threw");
          }
        }
      }
      if (rows.length < batchSize) break;
    }
  });

  const connect = async (): Promise<void> => {
    const c = new pg.Client({ connectionString: options.listenUrl, application_name: "cybernetic-events" });
    c.on("notification", (msg) => {
      if (msg.channel === "cybernetic_outbox") void publish();
      else if (msg.channel === "cybernetic_events") void read();
    });
    c.on("error", (error) => {
      if (running && client === c) {
        lostAt ??= Date.now();
        logger.warn({ reason: firstLine(error) }, "event bus: LISTEN connection lost; reconnecting");
      }
      scheduleReconnect();
    });
    c.on("end", () => {
      if (running && client === c) scheduleReconnect();
    });
    try {
      await c.connect();
      await c.query("listen cybernetic_outbox; listen cybernetic_events");
    } catch (error) {
      // The 'error' listener may not have fired (a refused connect only rejects); end the half-open client.
      c.removeAllListeners("end");
      await c.end().catch(() => {});
      throw error;
    }
    if (!running) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    reconnectDelay = 100;
    if (lostAt !== undefined) {
      logger.info(
        { downMs: Date.now() - lostAt, attempts: reconnectAttempts },
        "event bus: LISTEN reconnected; catching up from the outbox",
      );
      lostAt = undefined;
      reconnectAttempts = 0;
    }
    // Anything that happened while we were not listening.
    void publish();
    void read();
  };

  const scheduleReconnect = () => {
    if (!running || reconnectTimer) return;
    lostAt ??= Date.now();
    const old = client;
    client = undefined;
    old?.end().catch(() => {});
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      reconnectAttempts++;
      connect().catch((error: unknown) => {
        // One line per attempt at debug level: the loss was already reported, and the recovery will be.
        logger.debug({ reason: firstLine(error), attempt: reconnectAttempts }, "event bus: reconnect failed");
        scheduleReconnect();
      });
    }, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 5000);
  };

  return {
    get lastId() {
      return cursor || "0";
    },
    get subscriberCount() {
      return subscribers.size;
    },

    async start() {
      if (running) return;
      running = true;
      if (cursor === "") {
        const { rows } = await retryIdempotent(() =>
          sql<{ max_id: string | null }>`select max_id from cybernetic.event_bounds()`.execute(db),
        );
        cursor = rows[0]?.max_id ?? "0";
      }
      await connect();
      poll = setInterval(() => {
        void publish();
        void read();
      }, pollIntervalMs);
      poll.unref();
    },

    subscribe(filter, handler) {
      const id = nextSubscriber++;
      subscribers.set(id, { filter, handler });
      return () => void subscribers.delete(id);
    },

    async replay(tenantId, afterId, replayOptions = {}) {
      const limit = Math.max(1, Math.min(replayOptions.limit ?? 1000, 10_000));
      const after = /^\d{1,19}$/.test(afterId) ? afterId : "0";
      const { rows: bounds } = await sql<{ min_id: string | null; max_id: string | null }>`
        select min_id, max_id from cybernetic.event_bounds()`.execute(db);
      const min = bounds[0]?.min_id == null ? null : BigInt(bounds[0].min_id);
      const max = bounds[0]?.max_id == null ? null : BigInt(bounds[0].max_id);
      const a = BigInt(after);
      // Older than retention (a gap before the oldest event) or newer than anything we have (another
      // database, or one restored from backup): the client cannot catch up from the outbox.
      const resync = a > 0n && (max === null || a > max || (min !== null && a < min - 1n));
      if (resync) return { events: [], resync: true };
      const patterns = replayOptions.patterns;
      const rows = await withTenant(
        db,
        tenantId,
        (trx) => {
          const q = trx
            .selectFrom("events")
            .select(["id", "tenant_id", "type", "data", "created_at"])
            .where("id", ">", after)
            .orderBy("id")
            .limit(limit);
          const filter = eventPatternFilter(patterns);
          return (filter ? q.where(filter) : q).execute();
        },
        { readOnly: true },
      );
      const events = rows.map((r) => toEvent(r as Row));
      return { events, resync: false };
    },

    async flush() {
      await publish();
      await read();
    },

    async stop() {
      running = false;
      clearInterval(poll);
      clearTimeout(publishRetry);
      clearTimeout(reconnectTimer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
