import { appendEvent, type JsonObject, type TenantTransaction } from "@cybernetic/core";
import type { CyberneticQueue } from "../queue/job-queue.js";
import { alertChannels, recordNotification } from "./notifications.js";

/** An algedonic signal: pain or pleasure that bypasses the normal chain. */
export interface AlgedonicSignal {
  severity: "pain" | "pleasure";
  message: string;
  /** What raised it, e.g. `{ kind: "analysis", episodeId }` or `{ kind: "policy", policyId, eventId }`. */
  source: JsonObject;
  /** Makes the signal idempotent: the same key never alerts twice. */
  key: string;
  /**
   * Set when a policy action raises the signal: stamped on the `algedonic.alert` event and the
   * notifications, so policies reacting to them stop at the loop guard (see `MAX_POLICY_DEPTH`).
   */
  causedBy?: JsonObject;
}

/**
 * Raises an algedonic signal in the caller's transaction: writes `algedonic.alert` and notifies every
 * alert channel of the tenant at critical priority, at once (not through policy evaluation).
 * Returns the number of notifications recorded.
 */
export async function raiseAlgedonic(
  trx: TenantTransaction,
  queue: CyberneticQueue,
  tenantId: string,
  signal: AlgedonicSignal,
): Promise<number> {
  const tenant = await trx
    .selectFrom("tenants")
    .select("settings")
    .where("id", "=", tenantId)
    .executeTakeFirst();
  const channels = alertChannels(tenant?.settings ?? {});
  const data: JsonObject = {
    severity: signal.severity,
    message: signal.message,
    source: signal.source,
    ...(signal.causedBy ? { causedBy: signal.causedBy } : {}),
  };
  await appendEvent(trx, tenantId, "algedonic.alert", data);
  let recorded = 0;
  for (const [index, ch] of channels.entries()) {
    const text = `${signal.severity === "pain" ? "🚨 ALGEDONIC PAIN" : "✨ ALGEDONIC PLEASURE"}: ${signal.message}`;
    const id = await recordNotification(trx, queue, tenantId, {
      channel: ch.channel,
      target: ch.to,
      payload:
        ch.channel === "telegram"
          ? { text, ...(signal.causedBy ? { causedBy: signal.causedBy } : {}) }
          : { type: "algedonic.alert", text, ...data },
      idempotencyKey: `algedonic:${signal.key}:${index}`,
      priority: "critical",
    });
    if (id) recorded++;
  }
  return recorded;
}
