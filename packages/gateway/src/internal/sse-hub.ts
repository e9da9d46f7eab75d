/**
 * The SSE fan-out of one gateway process: one subscription on the event bus (one LISTEN connection per
 * process), every open stream indexed by tenant, and each event encoded once into one Buffer that is
 * written as is to every matching socket. Nothing per subscriber is allocated on the hot path: no
 * per-subscriber closure, serialisation or stream object (h3's `EventStream` costs about 4× the CPU per
 * delivered event, see bench/sse).
 *
 * Why a stream is set up in two phases: the `connected` event promises that anything written after it
 * is delivered. So a stream is registered on the live fan-out first (live events are held in its
 * `pending` list), the missed events are read from the outbox (`replay`), and only then are headers,
 * `connected`, the replayed events and the held live events (those after the last replayed id) written.
 * The bus delivers in id order and ids are commit-safe, so the seam has neither a gap nor a duplicate.
 */

import type { ServerResponse } from "node:http";
import { CyberneticError, type CyberneticEvent, type EventBus, type Logger } from "@cybernetic/core";
import { type EventStreamSettings, eventStreamConfigSchema } from "../config.js";
import type { GatewayMetrics } from "../metrics.js";
import { BoundedCache } from "./bounded-cache.js";
import type { HeaderPair } from "./reply.js";

/** Limits and timings of the event stream (`eventStreamConfigSchema` documents each field). */
export type EventStreamConfig = Omit<EventStreamSettings, "tokenSecret">;

/** The defaults of `EventStreamConfig` (from the config schema, the one place they are set). */
export const DEFAULT_EVENT_STREAM: Readonly<EventStreamConfig> = Object.freeze(
  (({ tokenSecret: _secret, ...defaults }) => defaults)(eventStreamConfigSchema.parse({})),
);

/** Why the server ended a stream (the `reason` of the `disconnected` event). */
export type DisconnectReason = "max_duration" | "shutdown" | "overflow";

const REPLAY_PAGE = 1000;
const HEARTBEAT = Buffer.from(": heartbeat\n\n");
const STREAM_HEADERS: readonly HeaderPair[] = [
  ["content-type", "text/event-stream; charset=utf-8"],
  ["cache-control", "no-cache"],
  ["x-accel-buffering", "no"],
];

/** `a > b` for outbox ids (decimal strings without leading zeros), without parsing them. */
const idAfter = (a: string, b: string) => (a.length !== b.length ? a.length > b.length : a > b);

/** The SSE frame of an event: `id`, `event` and `data` (the event as JSON, on one line). */
export function encodeEvent(event: CyberneticEvent): Buffer {
  return Buffer.from(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

/**
 * A control event. `connected` and `resync` carry the stream's cursor as their `id`, so a client that is
 * cut off before its first event resumes from there (an `EventSource` keeps the last `id` it saw) instead
 * of starting live again and missing what was written while it reconnected.
 */
const control = (type: string, data: unknown, retryMs?: number, id?: string) =>
  `${retryMs === undefined ? "" : `retry: ${retryMs}\n`}${id === undefined ? "" : `id: ${id}\n`}event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;

/** Compiled topics: `*`, exact types and `category.` prefixes. */
class Topics {
  readonly all: boolean;
  readonly exact: ReadonlySet<string>;
  readonly prefixes: readonly string[];
  constructor(readonly patterns: readonly string[]) {
    this.all = patterns.includes("*");
    this.exact = new Set(patterns.filter((p) => !p.endsWith("*")));
    this.prefixes = patterns.filter((p) => p.endsWith(".*")).map((p) => p.slice(0, -1));
  }
  matches(type: string): boolean {
    if (this.all || this.exact.has(type)) return true;
    for (const prefix of this.prefixes) if (type.startsWith(prefix)) return true;
    return false;
  }
}

/** One open (or opening) stream. A class, not closures: at 10k streams every byte per stream counts. */
class Stream {
  /** Live events held while the stream is being set up; undefined once it is live. */
  pending: Buffer[] | undefined = [];
  pendingIds: string[] = [];
  pendingBytes = 0;
  /** Live events up to this id were already written (by replay); cleared by the first one past it. */
  floor: string | undefined;
  closed = false;
  started = false;
  overflow = false;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly hub: HubState,
    readonly res: ServerResponse,
    readonly tenantId: string,
    readonly topics: Topics,
  ) {}

  deliver(frame: Buffer, id: string): void {
    if (this.closed) return;
    if (this.pending !== undefined) {
      if (this.pendingBytes + frame.length > this.hub.config.maxBufferedBytes) {
        this.overflow = true;
        return;
      }
      this.pending.push(frame);
      this.pendingIds.push(id);
      this.pendingBytes += frame.length;
      return;
    }
    if (this.floor !== undefined) {
      if (!idAfter(id, this.floor)) return;
      this.floor = undefined;
    }
    this.write(frame);
  }

  /** Writes, and cuts the stream off when its consumer has fallen too far behind. */
  write(chunk: Buffer | string): void {
    const res = this.res;
    res.write(chunk);
    if (res.writableLength > this.hub.config.maxBufferedBytes) {
      this.hub.metrics.sseSlowConsumerDropped();
      this.hub.logger.warn(
        { tenantId: this.tenantId, bufferedBytes: res.writableLength },
        "event stream: a consumer too slow to keep up was disconnected (it resumes from its last id)",
      );
      res.destroy();
      this.release();
    }
  }

  /** Ends the stream with a `disconnected` event. */
  end(reason: DisconnectReason): void {
    if (this.closed) return;
    if (this.started) this.res.end(control("disconnected", { reason }));
    else this.res.destroy();
    this.release();
  }

  /** Frees everything the stream holds, at once (idempotent). */
  release(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.pending = undefined;
    this.pendingIds = [];
    const set = this.hub.byTenant.get(this.tenantId);
    if (set !== undefined) {
      set.delete(this);
      if (set.size === 0) this.hub.byTenant.delete(this.tenantId);
    }
    this.hub.count--;
    if (this.started) this.hub.metrics.sseConnections(-1);
  }
}

interface HubState {
  config: EventStreamConfig;
  metrics: GatewayMetrics;
  logger: Logger;
  byTenant: Map<string, Set<Stream>>;
  count: number;
}

/** What `SseHub.open` needs. */
export interface OpenStream {
  res: ServerResponse;
  tenantId: string;
  /** Validated patterns. */
  topics: readonly string[];
  /** Validated resume cursor, if any. */
  lastEventId: string | undefined;
}

/** A stream registered and replayed, ready to start (or be cancelled). */
export interface PreparedStream {
  /**
   * Writes the headers, `connected`, the replayed and the held events; the stream is then live. Resolves
   * once the response is over (the client went away, or the server ended the stream).
   */
  start(headers: string[]): Promise<void>;
  /** Gives the stream up without writing anything (a HEAD request, an in-memory `fetch`). */
  cancel(): void;
}

/** The fan-out (see the module comment). */
export interface SseHub {
  /**
   * Registers a stream on the live fan-out and reads what it missed.
   *
   * @throws CyberneticError `rate_limited` (429) when the tenant has `maxConnectionsPerTenant` streams.
   */
  open(options: OpenStream): Promise<PreparedStream>;
  /** Open streams on this process. */
  readonly connections: number;
  /** Ends every stream with `disconnected` (`shutdown`) and stops the heartbeat; new ones are refused. */
  close(): void;
  readonly config: Readonly<EventStreamConfig>;
}

/**
 * Creates the hub over a started (or soon started) event bus.
 *
 * @example
 * ```ts
 * const hub = createSseHub({ bus, metrics, logger, config: { heartbeatMs: 15_000 } });
 * const stream = await hub.open({ res, tenantId, topics: ["episode.*"], lastEventId: undefined });
 * stream.start(["x-request-id", requestId]);
 * ```
 */
export function createSseHub(options: {
  bus: EventBus;
  metrics: GatewayMetrics;
  logger: Logger;
  config?: Partial<EventStreamConfig>;
}): SseHub {
  const { bus } = options;
  const config: EventStreamConfig = { ...DEFAULT_EVENT_STREAM, ...options.config };
  // Streams with the same topics share one compiled (immutable) `Topics`: a dashboard's 10,000 viewers
  // then hold one Set, not 10,000 (less memory per stream, less for the GC to trace).
  const topicsCache = new BoundedCache<string, Topics>(1_000, 10 * 60_000);
  const compiledTopics = (patterns: readonly string[]): Topics => {
    const key = patterns.join("\n");
    let compiled = topicsCache.get(key);
    if (compiled === undefined) {
      compiled = new Topics(patterns);
      topicsCache.set(key, compiled);
    }
    return compiled;
  };
  const state: HubState = {
    config,
    metrics: options.metrics,
    logger: options.logger,
    byTenant: new Map(),
    count: 0,
  };
  let closed = false;

  const unsubscribe = bus.subscribe({}, (event) => {
    const streams = state.byTenant.get(event.tenantId);
    if (streams === undefined) return;
    let frame: Buffer | undefined;
    let delivered = 0;
    for (const stream of streams) {
      try {
        if (!stream.topics.matches(event.type)) continue;
        frame ??= encodeEvent(event);
        stream.deliver(frame, event.id);
        delivered++;
      } catch (error) {
        // One subscriber's failure never reaches the others.
        state.logger.warn({ err: error, tenantId: event.tenantId }, "event stream: a write failed");
        stream.res.destroy();
        stream.release();
      }
    }
    if (delivered > 0) state.metrics.sseEventsDelivered(delivered);
  });

  // One timer for every stream's heartbeat: the same bytes to every socket.
  const heartbeat = setInterval(() => {
    for (const streams of state.byTenant.values()) {
      for (const stream of streams) {
        if (!stream.started || stream.closed) continue;
        try {
          stream.write(HEARTBEAT);
        } catch {
          stream.res.destroy();
          stream.release();
        }
      }
    }
  }, config.heartbeatMs);
  heartbeat.unref();

  const open = async ({ res, tenantId, topics, lastEventId }: OpenStream): Promise<PreparedStream> => {
    if (closed) {
      throw new CyberneticError("unavailable", "the server is shutting down; reconnect", {
        headers: { "retry-after": "1" },
      });
    }
    let streams = state.byTenant.get(tenantId);
    if ((streams?.size ?? 0) >= config.maxConnectionsPerTenant) {
      throw new CyberneticError(
        "rate_limited",
        `this tenant already has ${config.maxConnectionsPerTenant} open event streams on this server`,
        {
          details: { limit: config.maxConnectionsPerTenant, retryAfterSeconds: 5 },
          headers: { "retry-after": "5" },
        },
      );
    }
    const stream = new Stream(state, res, tenantId, compiledTopics(topics));
    if (streams === undefined) {
      streams = new Set();
      state.byTenant.set(tenantId, streams);
    }
    streams.add(stream);
    state.count++;
    // Registered: every event the bus delivers from now on is held. Nothing before this is lost either:
    // it is in the outbox, after the bus's position.
    const liveStart = bus.lastId;
    res.once("close", () => stream.release());
    res.once("error", () => stream.release());

    let cursor = liveStart;
    let resync: string | undefined;
    const replayed: Buffer[] = [];
    if (lastEventId !== undefined) {
      cursor = lastEventId;
      stream.floor = lastEventId;
      try {
        let from = lastEventId;
        let count = 0;
        for (;;) {
          const page = await bus.replay(tenantId, from, { patterns: topics, limit: REPLAY_PAGE });
          if (page.resync) {
            resync = "cursor_expired";
            break;
          }
          for (const event of page.events) replayed.push(encodeEvent(event));
          count += page.events.length;
          const last = page.events.at(-1);
          if (last !== undefined) from = last.id;
          if (page.events.length < REPLAY_PAGE || stream.closed) break;
          if (count >= config.replayLimit) {
            resync = "too_far_behind";
            break;
          }
        }
        stream.floor = from;
      } catch (error) {
        stream.release();
        throw error;
      }
      if (resync !== undefined) {
        // Continue live from where this process is; the client reloads its state.
        replayed.length = 0;
        cursor = liveStart;
        stream.floor = undefined;
      }
    }

    return {
      start(headers) {
        if (stream.closed) return Promise.resolve();
        const over = new Promise<void>((resolve) => {
          res.once("close", resolve);
        });
        // The security headers' `cache-control: no-store` gives way to the stream's own.
        const all: string[] = [];
        for (let i = 0; i < headers.length; i += 2) {
          if (headers[i] !== "cache-control") all.push(headers[i] as string, headers[i + 1] as string);
        }
        for (const [name, value] of STREAM_HEADERS) all.push(name, value);
        res.writeHead(200, all);
        const connected = control(
          "connected",
          {
            topics,
            serverTime: new Date().toISOString(),
            heartbeatMs: config.heartbeatMs,
            retryMs: config.retryMs,
            cursor,
          },
          config.retryMs,
          cursor,
        );
        const parts: Buffer[] = [Buffer.from(connected)];
        if (resync !== undefined)
          parts.push(Buffer.from(control("resync", { reason: resync, cursor }, undefined, cursor)));
        parts.push(...replayed);
        const held = stream.pending ?? [];
        const heldIds = stream.pendingIds;
        stream.pending = undefined;
        stream.pendingIds = [];
        stream.pendingBytes = 0;
        for (let i = 0; i < held.length; i++) {
          const id = heldIds[i] as string;
          if (stream.floor !== undefined && !idAfter(id, stream.floor)) continue;
          stream.floor = undefined;
          parts.push(held[i] as Buffer);
        }
        stream.started = true;
        state.metrics.sseConnections(1);
        if (replayed.length > 0) state.metrics.sseEventsDelivered(replayed.length);
        stream.write(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts));
        if (stream.overflow) stream.end("overflow");
        else if (!stream.closed) {
          stream.timer = setTimeout(() => stream.end("max_duration"), config.maxDurationMs);
          stream.timer.unref();
        }
        return over;
      },
      cancel() {
        stream.release();
      },
    };
  };

  return {
    open,
    get connections() {
      return state.count;
    },
    config,
    close() {
      if (closed) return;
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
      for (const streams of [...state.byTenant.values()]) {
        for (const stream of [...streams]) stream.end("shutdown");
      }
    },
  };
}
