import { type Db, retryIdempotent } from "@cybernetic/core";
import { isStorageWriteFailure } from "@cybernetic/storage";
import type { GatewayQueue, GatewayStorage } from "./gateway-dependencies.js";
import { withTimeout } from "./internal/timeout.js";

/**
 * One dependency's readiness. `degraded`: storage can be read but not written (a full disk, a read-only
 * mount); the instance stays ready, since reads, the database and every other route still work.
 */
export interface CheckResult {
  status: "ok" | "degraded" | "failed" | "disabled";
  durationMs?: number;
  error?: string;
}

/** The outcome of `GET /ready`. */
export interface ReadinessReport {
  /** False when a check failed; a degraded check leaves the instance ready. */
  ready: boolean;
  /** True when a check is degraded (see `CheckResult`). */
  degraded: boolean;
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
  /** Told every report (the gateway feeds its readiness gauges with it). */
  onReport?(report: ReadinessReport): void;
}

async function run(
  fn: (() => Promise<unknown>) | undefined,
  timeoutMs: number,
  name: string,
  degradedWhen: (error: unknown) => boolean = () => false,
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
      status: degradedWhen(error) ? "degraded" : "failed",
      durationMs: Math.round((performance.now() - start) * 100) / 100,
      error: message.split("\n")[0]?.slice(0, 300) ?? "failed",
    };
  }
}

/**
 * Checks the database (`select 1` on the runtime pool), storage (`check()`) and queue (`check()`) in
 * parallel, each with a timeout. A dependency that is not configured is reported `disabled` and does
 * not make the gateway unready; storage that takes no writes is `degraded` and does not either.
 *
 * @example
 * ```ts
 * const { ready, checks } = await createReadiness({ db, storage, queue, timeoutMs: 2000 }).check();
 * ```
 */
export function createReadiness(options: ReadinessOptions): Readiness {
  const { db, storage, queue, timeoutMs, onReport } = options;
  // Retried once on a fresh connection: a stale pooled one (after a failover) is not the database down.
  const database = () => retryIdempotent(() => db.selectNoFrom((eb) => eb.lit(1).as("ok")).execute());
  return {
    async check() {
      const [d, s, q] = await Promise.all([
        run(database, timeoutMs, "database"),
        run(storage ? () => storage.check() : undefined, timeoutMs, "storage", isStorageWriteFailure),
        run(queue ? () => queue.check() : undefined, timeoutMs, "queue"),
      ]);
      const checks = { database: d, storage: s, queue: q };
      const all = Object.values(checks);
      const report = {
        ready: all.every((c) => c.status !== "failed"),
        degraded: all.some((c) => c.status === "degraded"),
        checks,
      };
      onReport?.(report);
      return report;
    },
  };
}
