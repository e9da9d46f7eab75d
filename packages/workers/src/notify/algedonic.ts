import {
  type AlgedonicSignal as CoreAlgedonicSignal,
  raiseAlertIn,
  type TenantTransaction,
} from "@cybernetic/core";
import type { CyberneticQueue } from "../queue/job-queue.js";

/** An algedonic signal: pain or pleasure that bypasses the normal chain (core's `AlgedonicSignal`). */
export type AlgedonicSignal = CoreAlgedonicSignal;

/**
 * Raises an algedonic signal in the caller's transaction: records the alert, writes `algedonic.alert`
 * and notifies every alert channel of its unit (the tenant's for the root) at critical priority, at once
 * (not through policy evaluation). Returns the number of notifications recorded. Core's `raiseAlertIn`
 * with the wall clock; the built-in jobs call `platform.alerts.raiseIn`, which has the platform's clock.
 *
 * @example
 * ```ts
 * await raiseAlgedonic(trx, queue, tenantId, { severity: "pain", message: "Line 3 down",
 *   source: { kind: "sensor" }, key: "sensor:line-3:2026-01-01" });
 * ```
 */
export async function raiseAlgedonic(
  trx: TenantTransaction,
  queue: CyberneticQueue,
  tenantId: string,
  signal: AlgedonicSignal,
): Promise<number> {
  return (await raiseAlertIn(trx, tenantId, signal, { queue })).notifications;
}
