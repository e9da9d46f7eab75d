import type { Db } from "@cybernetic/core";
import type { GatewayQueue, GatewayStorage } from "./gateway-dependencies.js";
import { withTimeout } from "./internal/timeout.js";

/** One dependency's readiness. */
export interface CheckResult {
  status: "ok" | "failed" | "disabled";
  durationMs?: number;
  error?: string;
}

/** The outcome of `GET /ready`. */
export interface ReadinessReport {
  ready: boolean;
  checks: { database: CheckResult; storage: CheckResult; queue: CheckResult };
}

/** Runs the readiness checks. */
export interface Readiness {
  check(): Promise<ReadinessReport>;
}

/** Options of `createReadiness`. */
export interface ReadinessOptions {
  db: Db;
  storage: GatewayStorage | undefined;
  queue: GatewayQueue | undefined;
  /** Each check is given this long. */
  timeoutMs: number;
}

async function run(
  fn: (() => Promise<unknown>) | undefined,
  timeoutMs: number,
  name: string,
): Promise<CheckResult> {
  if (fn === undefined) return { status: "disabled" };
  const start = performance.now();
  try {
    await withTimeout(Promise.resolve().then(fn), timeoutMs, `${name} check timed out after ${timeoutMs} ms`);
    return { status: "ok", durationMs: Math.round((performance.now() - start) * 100) / 100 };
  } catch (error) {
    // One line, no stack: the reason is enough to act on, and a message here never carries credentials
    // (database errors are worded by core's connectionError / the driver, without the password).
    const message = error instanceof Error ? error.message : String(error);
    return {
      status: "failed",
      durationMs: Math.round((performance.now() - start) * 100) / 100,
      error: message.split("\n")[0]?.slice(0, 300) ?? "failed",
    };
  }
}

/**
 * Checks the database (`select 1` on the runtime pool), storage (`check()`) and queue (`check()`) in
 * parallel, each with a timeout. A dependency that is not configured is reported `disabled` and does
 * not make the gateway unready.
 *
 * @example
 * ```ts
 * const { ready, checks } = await createReadiness({ db, storage, queue, timeoutMs: 2000 }).check();
 * ```
 */
export function createReadiness(options: ReadinessOptions): Readiness {
  const { db, storage, queue, timeoutMs } = options;
  const database = () => db.selectNoFrom((eb) => eb.lit(1).as("ok")).execute();
  return {
    async check() {
      const [d, s, q] = await Promise.all([
        run(database, timeoutMs, "database"),
        run(storage ? () => storage.check() : undefined, timeoutMs, "storage"),
        run(queue ? () => queue.check() : undefined, timeoutMs, "queue"),
      ]);
      const checks = { database: d, storage: s, queue: q };
      return { ready: Object.values(checks).every((c) => c.status !== "failed"), checks };
    },
  };
}
