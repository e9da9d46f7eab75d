/**
 * S2, coordination: damping a policy so that a condition which flaps fires once, not every time.
 *
 * A policy's rules may say `for` (how long the condition must have held, on every matching event,
 * before it fires; like a Prometheus alert rule's `for`) and `cooldown` (how long it stays quiet after
 * firing). Decisions are made per matching event, in event order, from the policy's row in
 * `policy_damping`, which every evaluation of the policy locks. Time is the event's own time
 * (`occurredAt`), so a replay decides the same way.
 *
 * For an event at time t whose condition held:
 * 1. `pendingSince` (when the condition started holding) is set to t if it was not holding;
 * 2. with `for`: t − pendingSince < for → suppressed `pending`;
 * 3. with `for`: it already fired during this stretch of holding → suppressed `firing`;
 * 4. with `cooldown`: it fired less than `cooldown` before t → suppressed `cooldown`;
 * 5. otherwise it fires.
 * An event whose condition did not hold ends the stretch (pendingSince and firing reset). An event older
 * than one already decided on (workers run jobs in parallel) is decided as `out_of_order` when its
 * condition held and changes nothing; to make that rare, an evaluation first waits (the job retries)
 * while an earlier matching event of the last minute has not been decided on yet.
 */
import { sql } from "kysely";
import type { PolicyDamping, SuppressionReason } from "../contract/policies.js";
import { durationSeconds } from "../contract/policy-rules.js";
import { CyberneticError } from "../errors.js";
import { eventPatternFilter } from "../internal/event-pattern-filter.js";
import { iso } from "../internal/time.js";
import type { TenantTransaction } from "../tenant-context.js";

/** A policy's damping parameters, in seconds. */
export interface DampingParameters {
  forSeconds: number;
  cooldownSeconds: number;
}

/**
 * The damping parameters of a policy's rules, or undefined when it is not damped (no `for` and no
 * `cooldown`, or both zero). Reads raw rules defensively.
 *
 * @example
 * ```ts
 * dampingOf({ on: ["*"], for: "5m", then: [] }); // { forSeconds: 300, cooldownSeconds: 0 }
 * ```
 */
export function dampingOf(rules: unknown): DampingParameters | undefined {
  if (rules === null || typeof rules !== "object") return undefined;
  const { for: holdFor, cooldown } = rules as { for?: unknown; cooldown?: unknown };
  const forSeconds = durationSeconds(holdFor) ?? 0;
  const cooldownSeconds = durationSeconds(cooldown) ?? 0;
  return forSeconds > 0 || cooldownSeconds > 0 ? { forSeconds, cooldownSeconds } : undefined;
}

/**
 * The parameters S2 decides a policy's events with, in event order: its damping, or, for a policy that is
 * not damped but records indicator readings (`record_reading`, which must arrive in time order while
 * workers evaluate events in parallel), no damping at all, only the order. Undefined: no S2 decision.
 *
 * @example
 * ```ts
 * orderedDampingOf({ on: ["custom.output"], then: [{ type: "record_reading", indicator: "output", value: 1 }] });
 * // { forSeconds: 0, cooldownSeconds: 0 }
 * ```
 */
export function orderedDampingOf(rules: unknown): DampingParameters | undefined {
  const damping = dampingOf(rules);
  if (damping || rules === null || typeof rules !== "object") return damping;
  const then = (rules as { then?: unknown }).then;
  const records =
    Array.isArray(then) &&
    then.some(
      (a) => a !== null && typeof a === "object" && (a as { type?: unknown }).type === "record_reading",
    );
  return records ? { forSeconds: 0, cooldownSeconds: 0 } : undefined;
}

/** S2's memory of one policy, in milliseconds since the epoch. */
export interface DampingState {
  pendingSince: number | null;
  firing: boolean;
  lastFiredAt: number | null;
}

/** What S2 decided for one matching event. */
export type DampingDecision =
  | { kind: "fire" }
  | { kind: "quiet" }
  | { kind: "suppressed"; reason: SuppressionReason; message: string };

/**
 * The damping decision for one event, pure: the state before, the event's time, whether its condition
 * held, whether it is older than an event already decided on. Returns the decision and the state after.
 *
 * @example
 * ```ts
 * const start = { pendingSince: null, firing: false, lastFiredAt: null };
 * decideDamping(start, 0, true, false, { forSeconds: 60, cooldownSeconds: 0 }).decision;
 * // { kind: "suppressed", reason: "pending", message: "the condition has held for 0 s of the 60 s `for` requires" }
 * ```
 */
export function decideDamping(
  state: DampingState,
  at: number,
  held: boolean,
  late: boolean,
  params: DampingParameters,
): { decision: DampingDecision; next: DampingState } {
  if (late) {
    return {
      decision: held
        ? {
            kind: "suppressed",
            reason: "out_of_order",
            message: "an event older than one already decided on: it changes nothing",
          }
        : { kind: "quiet" },
      next: state,
    };
  }
  if (!held) return { decision: { kind: "quiet" }, next: { ...state, pendingSince: null, firing: false } };
  const pendingSince = state.pendingSince ?? at;
  const holding = { ...state, pendingSince };
  const heldSeconds = Math.floor((at - pendingSince) / 1000);
  if (params.forSeconds > 0 && at - pendingSince < params.forSeconds * 1000) {
    return {
      decision: {
        kind: "suppressed",
        reason: "pending",
        message: `the condition has held for ${heldSeconds} s of the ${params.forSeconds} s \`for\` requires`,
      },
      next: holding,
    };
  }
  if (params.forSeconds > 0 && state.firing) {
    return {
      decision: {
        kind: "suppressed",
        reason: "firing",
        message: `it already fired while the condition has held (for ${heldSeconds} s now)`,
      },
      next: holding,
    };
  }
  if (
    params.cooldownSeconds > 0 &&
    state.lastFiredAt !== null &&
    at - state.lastFiredAt < params.cooldownSeconds * 1000
  ) {
    const ago = Math.floor((at - state.lastFiredAt) / 1000);
    return {
      decision: {
        kind: "suppressed",
        reason: "cooldown",
        message: `it fired ${ago} s ago; the cooldown is ${params.cooldownSeconds} s`,
      },
      next: holding,
    };
  }
  return { decision: { kind: "fire" }, next: { pendingSince, firing: true, lastFiredAt: at } };
}

/** The event being decided on. */
export interface DampedEvent {
  id: string;
  type: string;
  /** ISO 8601. */
  occurredAt: string;
}

/** The policy being damped. */
export interface DampedPolicy {
  id: string;
  unitId: string;
  rules: unknown;
}

/** How long an evaluation waits for earlier matching events to be decided on: events this much older are not waited for. */
const ORDER_WINDOW_SECONDS = 60;

/**
 * Decides, inside the evaluation's transaction, whether a damped policy fires for an event: locks the
 * policy's damping row, answers `duplicate` when this event was evaluated already, waits (throws
 * `conflict` with `details.reason` `ordering`, which the job retries) while an earlier matching event
 * has not been decided on and `wait` is set, then decides and records the new state.
 */
export async function dampIn(
  trx: TenantTransaction,
  tenantId: string,
  policy: DampedPolicy,
  params: DampingParameters,
  event: DampedEvent,
  options: { held: boolean; wait: boolean },
): Promise<DampingDecision | { kind: "duplicate" }> {
  // Normally started when the policy was written (`startDampingIn`); otherwise just before this event.
  await trx
    .insertInto("policy_damping")
    .values({
      tenant_id: tenantId,
      policy_id: policy.id,
      last_event_id: sql<string>`${event.id}::bigint - 1`,
    })
    .onConflict((oc) => oc.columns(["tenant_id", "policy_id"]).doNothing())
    .execute();
  const row = await trx
    .selectFrom("policy_damping")
    .selectAll()
    .where("policy_id", "=", policy.id)
    .forUpdate()
    .executeTakeFirstOrThrow();
  const done = await trx
    .selectFrom("policy_evaluations")
    .select("policy_id")
    .where("policy_id", "=", policy.id)
    .where("event_id", "=", event.id)
    .executeTakeFirst();
  if (done) return { kind: "duplicate" };
  const late = BigInt(event.id) <= BigInt(row.last_event_id);
  if (options.wait && !late) {
    const earlier = await earlierUndecided(trx, policy, BigInt(row.last_event_id), event);
    if (earlier !== undefined) {
      throw new CyberneticError(
        "conflict",
        `waiting for event ${earlier} to be decided on first (S2 decides in order)`,
        {
          details: { reason: "ordering", eventId: earlier },
        },
      );
    }
  }
  const state: DampingState = {
    pendingSince: row.pending_since === null ? null : row.pending_since.getTime(),
    firing: row.firing,
    lastFiredAt: row.last_fired_at === null ? null : row.last_fired_at.getTime(),
  };
  const { decision, next } = decideDamping(state, Date.parse(event.occurredAt), options.held, late, params);
  const suppressed = { ...row.suppressed };
  if (decision.kind === "suppressed") suppressed[decision.reason] = (suppressed[decision.reason] ?? 0) + 1;
  await trx
    .updateTable("policy_damping")
    .set({
      pending_since: next.pendingSince === null ? null : new Date(next.pendingSince),
      firing: next.firing,
      last_fired_at: next.lastFiredAt === null ? null : new Date(next.lastFiredAt),
      ...(late ? {} : { last_event_id: event.id }),
      suppressed: JSON.stringify(suppressed),
      updated_at: sql<Date>`now()`,
    })
    .where("policy_id", "=", policy.id)
    .execute();
  return decision;
}

/**
 * Starts a damped policy's memory when it is created (or first given `for`/`cooldown`): at the newest
 * published event, so evaluations wait only for events published since, which it is sure to evaluate.
 */
export async function startDampingIn(
  trx: TenantTransaction,
  tenantId: string,
  policyId: string,
): Promise<void> {
  await trx
    .insertInto("policy_damping")
    .values({
      tenant_id: tenantId,
      policy_id: policyId,
      last_event_id: sql<string>`coalesce((select max_id from cybernetic.event_bounds()), 0)`,
    })
    .onConflict((oc) => oc.columns(["tenant_id", "policy_id"]).doNothing())
    .execute();
}

/** The id of an earlier event this policy will evaluate but has not decided on yet, if any. */
async function earlierUndecided(
  trx: TenantTransaction,
  policy: DampedPolicy,
  after: bigint,
  event: DampedEvent,
): Promise<string | undefined> {
  const on = (policy.rules as { on?: unknown }).on;
  const patterns = Array.isArray(on) ? on.filter((p): p is string => typeof p === "string") : [];
  const root = await trx.selectFrom("units").select("id").where("parent_id", "is", null).executeTakeFirst();
  let q = trx
    .selectFrom("events")
    .select("events.id")
    .where("events.id", ">", sql<string>`${String(after)}::bigint`)
    .where("events.id", "<", sql<string>`${event.id}::bigint`)
    .where("events.created_at", ">=", new Date(Date.parse(event.occurredAt) - ORDER_WINDOW_SECONDS * 1000))
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom("policy_evaluations")
            .select("policy_evaluations.policy_id")
            .whereRef("policy_evaluations.event_id", "=", "events.id")
            .where("policy_evaluations.policy_id", "=", policy.id),
        ),
      ),
    )
    .orderBy("events.id")
    .limit(1);
  const filter = eventPatternFilter(patterns);
  if (filter) q = q.where(filter);
  if (root && root.id !== policy.unitId) {
    // Only events of the policy's own subtree reach it.
    q = q.where(
      sql<boolean>`coalesce(events.data->>'unitId', ${root.id}) in (select u.id::text from cybernetic.units u where u.path @> array[${policy.unitId}]::uuid[])`,
    );
  }
  const row = await q.executeTakeFirst();
  return row?.id === undefined || row.id === null ? undefined : String(row.id);
}

/** A policy's damping memory as the API shows it. */
export async function dampingStateIn(
  trx: TenantTransaction,
  policyId: string,
  params: DampingParameters,
): Promise<PolicyDamping> {
  const row = await trx
    .selectFrom("policy_damping")
    .selectAll()
    .where("policy_id", "=", policyId)
    .executeTakeFirst();
  const byReason = row?.suppressed ?? {};
  return {
    forSeconds: params.forSeconds,
    cooldownSeconds: params.cooldownSeconds,
    pendingSince: row?.pending_since ? iso(row.pending_since) : null,
    firing: row?.firing ?? false,
    lastFiredAt: row?.last_fired_at ? iso(row.last_fired_at) : null,
    suppressed: { total: Object.values(byReason).reduce((n, v) => n + v, 0), byReason },
  };
}
