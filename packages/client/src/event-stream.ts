import { createParser } from "eventsource-parser";
import type { CyberneticEvent } from "./contract-types.js";
import { CyberneticApiError } from "./cybernetic-api-error.js";
import { backoff, errorOf, type Transport } from "./transport.js";

/** The first event of every (re)connection: the stream is registered and any replay is done. */
export interface StreamConnected {
  type: "connected";
  topics: string[];
  serverTime: string;
  heartbeatMs: number;
  retryMs: number;
  /** The stream delivers the events after this id. */
  cursor: string;
}

/** The resume cursor could not be honoured (older than retention, or too far behind): reload state. */
export interface StreamResync {
  type: "resync";
  reason: "cursor_expired" | "too_far_behind";
  /** The stream continues after this id. */
  cursor: string;
}

/**
 * The connection ended or could not be made, and the iterator reconnects after `retryInMs` (resuming
 * with `Last-Event-ID`); the next `connected` says the stream is live again. A page shows
 * "reconnecting" on it.
 */
export interface StreamReconnecting {
  type: "reconnecting";
  /**
   * Why: the server ended the stream on purpose (`server_closed`: shutdown, maximum duration), the
   * connection failed, dropped or went silent (`network`), or the server answered 429 or 5xx
   * (`unavailable`).
   */
  reason: "server_closed" | "network" | "unavailable";
  /** Consecutive failed attempts (0 after a stream the server ended on purpose). */
  attempt: number;
  /** How long the iterator waits before the next attempt. */
  retryInMs: number;
}

/**
 * What `events.subscribe` yields: platform events and the control items (`connected`, `resync`,
 * `reconnecting`), discriminated by `type`.
 */
export type StreamItem = CyberneticEvent | StreamConnected | StreamResync | StreamReconnecting;

/** Options of `events.subscribe`. */
export interface SubscribeOptions {
  /** Exact types, `category.*` or `*` (default). */
  topics?: readonly string[];
  /** Resume after this event id (the last one you processed). */
  lastEventId?: string;
  /** Resume after a list response's cursor (`page.cursor`): snapshot, then subscribe. */
  after?: string;
  /** Stops the stream; the iterator then ends without an error. */
  signal?: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });

/**
 * The event stream as an async iterator: reconnects with exponential backoff and jitter (at least the
 * server's `retry:`), resumes with `Last-Event-ID`, reconnects when no byte arrives for twice the
 * heartbeat interval, asks for credentials again on every connect, and ends with an error on 401/403
 * (or any other 4xx but 429) instead of retrying forever.
 */
export async function* subscribeEvents(
  transport: Transport,
  options: SubscribeOptions = {},
): AsyncGenerator<StreamItem, void, undefined> {
  const { signal } = options;
  let lastId = options.lastEventId ?? options.after;
  let retryMs = 1000;
  let heartbeatMs = 15_000;
  let failures = 0;
  const query = options.topics?.length ? `?topics=${encodeURIComponent(options.topics.join(","))}` : "";

  while (!signal?.aborted) {
    const connection = new AbortController();
    const abortConnection = () => connection.abort();
    signal?.addEventListener("abort", abortConnection, { once: true });
    let idle: ReturnType<typeof setTimeout> | undefined;
    const armIdle = () => {
      clearTimeout(idle);
      idle = setTimeout(abortConnection, heartbeatMs * 2);
    };
    let ended = false; // the server ended the stream on purpose (`disconnected`)
    try {
      const headers: Record<string, string> = { accept: "text/event-stream" };
      const key = await transport.credential();
      if (key) headers.authorization = `Bearer ${key}`;
      if (lastId !== undefined) headers["last-event-id"] = lastId;
      armIdle();
      let response: Response;
      try {
        response = await transport.fetch(`${transport.baseUrl}/v1/events${query}`, {
          headers,
          signal: connection.signal,
          cache: "no-store",
        });
      } catch (error) {
        if (signal?.aborted) return;
        throw new CyberneticApiError(
          0,
          "network_error",
          String((error as Error)?.message),
          undefined,
          undefined,
          {
            cause: error,
          },
        );
      }
      if (!response.ok) {
        const error = await errorOf(response);
        if (response.status !== 429 && response.status < 500) throw error;
        failures++;
        const wait = backoff(failures, retryMs, 30_000, response.headers.get("retry-after"));
        yield { type: "reconnecting", reason: "unavailable", attempt: failures, retryInMs: Math.round(wait) };
        await sleep(wait, signal);
        continue;
      }
      const body = response.body;
      if (!body)
        throw new CyberneticApiError(0, "network_error", "the stream has no body", undefined, undefined);
      const items: StreamItem[] = [];
      const parser = createParser({
        onRetry: (ms) => {
          retryMs = ms;
        },
        onEvent: (message) => {
          if (message.event === "connected") {
            const data = JSON.parse(message.data) as Omit<StreamConnected, "type">;
            heartbeatMs = data.heartbeatMs > 0 ? data.heartbeatMs : heartbeatMs;
            failures = 0;
            // The stream continues after its cursor: a reconnect before the first event resumes there.
            lastId = message.id ?? data.cursor;
            items.push({ type: "connected", ...data });
          } else if (message.event === "resync") {
            const data = JSON.parse(message.data) as Omit<StreamResync, "type">;
            lastId = message.id ?? data.cursor;
            items.push({ type: "resync", ...data });
          } else if (message.event === "disconnected") {
            ended = true;
          } else if (message.id !== undefined) {
            lastId = message.id;
            items.push(JSON.parse(message.data) as CyberneticEvent);
          }
        },
      });
      const reader = body.getReader();
      const decoder = new TextDecoder();
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          armIdle();
          parser.feed(decoder.decode(value, { stream: true }));
          while (items.length > 0) yield items.shift() as StreamItem;
        }
      } catch (error) {
        if (signal?.aborted) return;
        void error; // a dropped connection or the idle timer: reconnect below
      } finally {
        reader.releaseLock();
      }
    } catch (error) {
      if (signal?.aborted) return;
      if (!CyberneticApiError.isInstance(error) || error.status !== 0) throw error;
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener("abort", abortConnection);
      connection.abort();
    }
    if (signal?.aborted) return;
    if (!ended) failures++;
    const wait = ended
      ? retryMs / 2 + Math.random() * (retryMs / 2)
      : Math.max(retryMs, backoff(failures, retryMs, 30_000));
    yield {
      type: "reconnecting",
      reason: ended ? "server_closed" : "network",
      attempt: ended ? 0 : failures,
      retryInMs: Math.round(wait),
    };
    await sleep(wait, signal);
  }
}
