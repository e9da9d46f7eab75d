/**
 * Real clients for the fault suite: `fetch` against a real gateway, every answer (or network failure)
 * recorded with when it was sent and when it ended, so a test can assert what was seen (no 500, every 503
 * with `retry-after`, every 201 stored) and report what happened (requests by status, recovery time).
 */
import { randomBytes } from "node:crypto";

/** One request as a client saw it. */
export interface Outcome {
  op: string;
  /** The HTTP status, or `network` when no answer arrived (refused, reset, timed out). */
  status: number | "network";
  /** `performance.now()` when it was sent and when it ended. */
  sentAt: number;
  endedAt: number;
  /** `retry-after` of a 503 (null when absent). */
  retryAfter?: string | null;
  /** The error code of a JSON error body, or the network error's code. */
  code?: string;
  /** The first 300 characters of an unexpected answer, for the failure message. */
  text?: string;
}

/** A parsed answer. */
export interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: bodies are read field by field
  body: any;
  text: string;
}

/** Error codes of a request that got no answer at all. */
export function networkCode(error: unknown): string {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return code;
    const name = (e as { name?: unknown }).name;
    if (name === "TimeoutError" || name === "AbortError") return String(name);
    e = (e as { cause?: unknown }).cause;
  }
  return error instanceof Error ? error.message.slice(0, 80) : String(error);
}

/** Records outcomes and summarises them. */
export class Tally {
  readonly outcomes: Outcome[] = [];

  add(outcome: Outcome): void {
    this.outcomes.push(outcome);
  }

  /**
   * Sends one request and records it. Resolves with the answer, or undefined when none came (recorded
   * as `network`). A request never waits longer than `timeoutMs` (a hang is recorded, not awaited).
   */
  async call(
    base: string,
    op: string,
    path: string,
    init: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> } = {},
    timeoutMs = 20_000,
  ): Promise<Answer | undefined> {
    const headers: Record<string, string> = { ...init.headers };
    if (init.key) headers.authorization = `Bearer ${init.key}`;
    let body: string | undefined;
    if (init.body !== undefined) {
      body = JSON.stringify(init.body);
      headers["content-type"] = "application/json";
    }
    const sentAt = performance.now();
    try {
      const response = await fetch(`${base}${path}`, {
        method: init.method ?? "GET",
        headers,
        ...(body === undefined ? {} : { body }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      const code = (parsed as { error?: { code?: string } } | undefined)?.error?.code;
      this.add({
        op,
        status: response.status,
        sentAt,
        endedAt: performance.now(),
        ...(response.status === 503 ? { retryAfter: response.headers.get("retry-after") } : {}),
        ...(code ? { code } : {}),
        ...(response.status >= 500 && response.status !== 503 ? { text: text.slice(0, 300) } : {}),
      });
      return { status: response.status, headers: response.headers, body: parsed, text };
    } catch (error) {
      this.add({ op, status: "network", sentAt, endedAt: performance.now(), code: networkCode(error) });
      return undefined;
    }
  }

  /** Counts by status, e.g. `{ "200": 812, "201": 390, "503": 14 }`. */
  byStatus(outcomes: readonly Outcome[] = this.outcomes): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const o of outcomes) counts[String(o.status)] = (counts[String(o.status)] ?? 0) + 1;
    return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
  }

  /** Answers that must never happen: any 5xx but 503. */
  serverErrors(): Outcome[] {
    return this.outcomes.filter((o) => typeof o.status === "number" && o.status >= 500 && o.status !== 503);
  }

  /** Statuses outside 2xx, 4xx and 503 (a 1xx or 3xx would be as wrong as a 500). */
  unexpected(): Outcome[] {
    return this.outcomes.filter(
      (o) =>
        typeof o.status === "number" &&
        !(o.status < 300 && o.status >= 200) &&
        !(o.status >= 400 && o.status < 500) &&
        o.status !== 503,
    );
  }

  /** 503s without a numeric `retry-after`. */
  unavailableWithoutRetryAfter(): Outcome[] {
    return this.outcomes.filter((o) => o.status === 503 && !/^\d+$/.test(o.retryAfter ?? ""));
  }

  network(): Outcome[] {
    return this.outcomes.filter((o) => o.status === "network");
  }

  /**
   * What a fault at `at` cost: the requests that failed (503 or no answer) from `at` until `until`, and
   * the recovery time: from `at` to the end of the last of them (0 when none failed).
   */
  recovery(at: number, until = Number.POSITIVE_INFINITY): { failed: number; recoveryMs: number } {
    const failed = this.outcomes.filter(
      (o) => o.endedAt >= at && o.sentAt < until && (o.status === 503 || o.status === "network"),
    );
    const last = Math.max(at, ...failed.map((o) => o.endedAt));
    return { failed: failed.length, recoveryMs: Math.round(last - at) };
  }

  /** Latency percentiles (ms) of `outcomes`. */
  static percentiles(outcomes: readonly Outcome[]): { p50: number; p95: number; p99: number; max: number } {
    const sorted = outcomes.map((o) => o.endedAt - o.sentAt).sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length === 0
        ? 0
        : Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: Math.round(sorted.at(-1) ?? 0) };
  }
}

/** An episode a client was told was created (201). */
export interface Created {
  id: string;
  title: string;
  at: number;
}

/** Options of `runLoad`. */
export interface LoadOptions {
  base: string;
  key: string;
  clients: number;
  /** Clients keep going while this returns true. */
  running: () => boolean;
  tally: Tally;
  /** Receives every episode answered 201. */
  created: Created[];
  /** Include `PUT /v1/systems/:n` (read, then write with the version read; a 409 is a fine answer). */
  systemWrites?: boolean;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `clients` concurrent clients doing a mix of writes and reads until `running()` turns false:
 * POST /v1/episodes, GET /v1/episodes (a page), GET /v1/episodes/:id (one it created), GET and PUT
 * /v1/systems/:n. After a 503 or no answer a client waits a moment (as a client honouring
 * `retry-after` would, only shorter) and goes on.
 */
export async function runLoad(options: LoadOptions): Promise<void> {
  const { base, key, tally, created } = options;
  const run = `${Date.now().toString(36)}${randomBytes(2).toString("hex")}`;
  let serial = 0;
  const client = async (n: number) => {
    const mine: string[] = [];
    while (options.running()) {
      const roll = Math.random();
      let answer: Answer | undefined;
      if (roll < 0.35) {
        const title = `fault ${run} c${n} #${serial++}`;
        answer = await tally.call(base, "POST /v1/episodes", "/v1/episodes", {
          method: "POST",
          key,
          body: {
            title,
            content: "The packaging line stopped twice tonight; customers are waiting.",
            tags: ["fault"],
          },
        });
        if (answer?.status === 201) {
          created.push({ id: answer.body.episode.id, title, at: performance.now() });
          mine.push(answer.body.episode.id);
        }
      } else if (roll < 0.6) {
        answer = await tally.call(base, "GET /v1/episodes", "/v1/episodes?limit=5", { key });
      } else if (roll < 0.75 && mine.length > 0) {
        const id = mine[Math.floor(Math.random() * mine.length)];
        answer = await tally.call(base, "GET /v1/episodes/:id", `/v1/episodes/${id}`, { key });
      } else {
        const system = 1 + Math.floor(Math.random() * 5);
        answer = await tally.call(base, "GET /v1/systems/:system", `/v1/systems/${system}`, { key });
        if (options.systemWrites !== false && answer?.status === 200 && Math.random() < 0.5) {
          answer = await tally.call(base, "PUT /v1/systems/:system", `/v1/systems/${system}`, {
            method: "PUT",
            key,
            body: { state: { note: `client ${n}`, at: Date.now() }, version: answer.body.version },
          });
        }
      }
      if (answer === undefined || answer.status === 503) await pause(50);
    }
  };
  await Promise.all(Array.from({ length: options.clients }, (_, n) => client(n)));
}

/** Formats `byStatus` as `200: 812, 201: 390, 503: 14`. */
export function describeStatuses(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([status, n]) => `${status}: ${n}`)
    .join(", ");
}
