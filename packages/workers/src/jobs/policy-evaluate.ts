import {
  appendEvent,
  CyberneticError,
  type EventEnvelope,
  isUuid,
  type Json,
  type JsonObject,
  type Policy,
  type SystemNumber,
  systemNames,
  type TenantTransaction,
} from "@cybernetic/core";
import { sql } from "kysely";
import { z } from "zod";
import { recordNotification } from "../notify/notifications.js";
import {
  type Causation,
  causationJson,
  childCausation,
  MAX_POLICY_DEPTH,
  parseCausation,
} from "../policy/causation.js";
import { evaluatePolicy, type PlannedAction, policyListensTo } from "../policy/evaluate-policy.js";
import { type PolicyContextInput, redactSettings } from "../policy/policy-context.js";
import { defineJob, type JobContext } from "../runtime/define-job.js";

const payloadSchema = z
  .object({ tenantId: z.uuid(), eventId: z.string().regex(/^[1-9][0-9]{0,18}$/) })
  .strict();

/** What happened to one (event, policy) pair in this run. */
type PolicyStatus =
  | "applied"
  | "suppressed"
  | "not_matched"
  | "error"
  | "loop_guard"
  | "already_evaluated"
  | "failed"
  | "retry";

interface LoadedEvent {
  event: EventEnvelope;
  seq: string;
  xid: string;
}

/** A JSON-safe, bounded summary of a condition's value for the evaluation record. */
function summarise(value: unknown): Json {
  if (value === null || value === undefined) return null;
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : null;
  if (typeof value === "string") return value.slice(0, 200);
  return { type: Array.isArray(value) ? "array" : "object" };
}

async function loadEvent(trx: TenantTransaction, eventId: string): Promise<LoadedEvent | null> {
  const row = await trx
    .selectFrom("events")
    .select(["id", "seq", "xid", "tenant_id", "type", "data", "created_at"])
    .where("id", "=", eventId)
    .executeTakeFirst();
  if (!row || row.id === null) return null;
  return {
    event: {
      id: String(row.id),
      type: row.type,
      tenantId: row.tenant_id,
      occurredAt: row.created_at.toISOString(),
      data: row.data,
    },
    seq: String(row.seq),
    xid: String(row.xid),
  };
}

/**
 * Where the event came from. `data.causedBy` when its writer stamped it; otherwise, if a policy
 * evaluation wrote it (a `system.state_changed` from `set_state`, written by the system-state service,
 * which knows nothing of policies), the `policy.triggered` event of the same transaction says so. Same
 * transaction = same `xid`; that event is written last, so it follows within a short `seq` distance.
 */
async function causationOf(trx: TenantTransaction, loaded: LoadedEvent): Promise<Causation | null> {
  const stamped = parseCausation(loaded.event.data);
  if (stamped || loaded.event.type === "policy.triggered") return stamped;
  const sibling = await trx
    .selectFrom("events")
    .select("data")
    .where("type", "=", "policy.triggered")
    .where("seq", ">", loaded.seq)
    .where("seq", "<=", sql<string>`${loaded.seq}::bigint + 10000`)
    .where(sql<boolean>`xid = ${loaded.xid}::xid8`)
    .limit(1)
    .executeTakeFirst();
  return sibling ? parseCausation(sibling.data) : null;
}

/** The unit an event concerns: `data.unitId` when it names one of the tenant's units, else the root. */
async function eventUnit(trx: TenantTransaction, event: EventEnvelope): Promise<EventUnit> {
  const named = event.data.unitId;
  const row = await trx
    .selectFrom("units")
    .select(["id", "name", "slug", "depth", "path"])
    .where((eb) => (isUuid(named) ? eb("id", "=", named) : eb("parent_id", "is", null)))
    .executeTakeFirst();
  if (row) return row;
  // A unit id that names nothing (written by hand into a custom event): the event is the root's.
  return trx
    .selectFrom("units")
    .select(["id", "name", "slug", "depth", "path"])
    .where("parent_id", "is", null)
    .executeTakeFirstOrThrow();
}

interface EventUnit {
  id: string;
  name: string;
  slug: string;
  depth: number;
  path: string[];
}

async function loadContext(
  trx: TenantTransaction,
  tenantId: string,
  event: EventEnvelope,
  unit: EventUnit,
): Promise<PolicyContextInput> {
  const context: PolicyContextInput = {
    unit: { id: unit.id, name: unit.name, slug: unit.slug, depth: unit.depth, path: unit.path },
  };
  const tenant = await trx
    .selectFrom("tenants")
    .select(["id", "slug", "name", "settings"])
    .where("id", "=", tenantId)
    .executeTakeFirst();
  if (tenant) {
    context.tenant = {
      id: tenant.id,
      slug: tenant.slug,
      name: tenant.name,
      settings: redactSettings(tenant.settings),
    };
  }
  const episodeId = event.data.episodeId;
  if (isUuid(episodeId)) {
    const episode = await trx
      .selectFrom("episodes")
      .selectAll()
      .where("id", "=", episodeId)
      .executeTakeFirst();
    if (episode) {
      context.episode = {
        id: episode.id,
        title: episode.title,
        content: episode.content,
        source: episode.source,
        sourceId: episode.source_id,
        tags: episode.tags,
        status: episode.status,
        analysis: episode.analysis,
        createdAt: episode.created_at.toISOString(),
        analyzedAt: episode.analyzed_at?.toISOString() ?? null,
      };
    }
  }
  const system = event.data.system;
  if (typeof system === "number" && Number.isInteger(system) && system >= 1 && system <= 5) {
    const state = await trx
      .selectFrom("system_states")
      .selectAll()
      .where("unit_id", "=", unit.id)
      .where("system", "=", system)
      .executeTakeFirst();
    if (state) {
      context.state = {
        system,
        name: systemNames[system as SystemNumber],
        state: state.state,
        version: state.version,
        updatedAt: state.updated_at.toISOString(),
      };
    }
  }
  return context;
}

async function recordEvaluation(
  trx: TenantTransaction,
  tenantId: string,
  eventId: string,
  policyId: string,
  matched: boolean,
  outcome: JsonObject,
): Promise<boolean> {
  const row = await trx
    .insertInto("policy_evaluations")
    .values({
      tenant_id: tenantId,
      event_id: eventId,
      policy_id: policyId,
      matched,
      outcome: JSON.stringify(outcome),
    })
    .onConflict((oc) => oc.columns(["tenant_id", "event_id", "policy_id"]).doNothing())
    .returning("policy_id")
    .executeTakeFirst();
  return row !== undefined;
}

async function writeTriggered(
  trx: TenantTransaction,
  tenantId: string,
  policy: Policy,
  eventId: string,
  outcome: JsonObject,
  caused: Causation,
): Promise<void> {
  await appendEvent(trx, tenantId, "policy.triggered", {
    policyId: policy.id,
    policyName: policy.name,
    eventId,
    outcome,
    causedBy: causationJson(caused),
  });
}

/** Runs one planned action in the policy's transaction; returns what it did, for the outcome. */
async function runAction(
  trx: TenantTransaction,
  ctx: JobContext,
  tenantId: string,
  policy: Policy,
  event: EventEnvelope,
  action: PlannedAction,
  context: PolicyContextInput,
  caused: Causation,
): Promise<JsonObject> {
  const key = `policy:${policy.id}:${event.id}:${action.index}`;
  const causedBy = causationJson(caused);
  switch (action.type) {
    case "notify": {
      const notificationId = await recordNotification(trx, ctx.queue, tenantId, {
        channel: action.channel,
        target: action.to,
        payload: {
          text: action.text,
          policy: { id: policy.id, name: policy.name },
          event: { id: event.id, type: event.type, occurredAt: event.occurredAt },
          causedBy,
        },
        idempotencyKey: key,
        priority: "high",
      });
      return { type: "notify", index: action.index, channel: action.channel, notificationId };
    }
    case "publish": {
      await appendEvent(trx, tenantId, action.event, { ...action.data, causedBy });
      return { type: "publish", index: action.index, event: action.event };
    }
    case "set_state": {
      // A policy's actions act on its own unit's states. The condition saw the event's unit's state at
      // this version; if that is the state being patched and another writer got in between, the patch
      // would rest on a state the condition never saw: conflict, and the job is retried on fresh state.
      const sameState = context.state?.system === action.system && context.unit?.id === policy.unitId;
      const expected = sameState ? context.state?.version : undefined;
      const state = await ctx.platform.systems.patchIn(trx, tenantId, action.system, action.patch, expected, {
        unitId: policy.unitId,
      });
      return { type: "set_state", index: action.index, system: action.system, version: state.version };
    }
    case "algedonic": {
      // Raised at the unit the event concerns: that is where it hurts.
      const { notifications } = await ctx.platform.alerts.raiseIn(
        trx,
        tenantId,
        {
          severity: action.severity,
          message: action.message,
          source: { kind: "policy", policyId: policy.id, eventId: event.id },
          key,
          causedBy,
          ...(context.unit ? { unitId: context.unit.id } : {}),
        },
        { queue: ctx.queue },
      );
      return { type: "algedonic", index: action.index, severity: action.severity, notifications };
    }
    case "record_reading": {
      // On an indicator of the policy's own unit, by name. A reading the indicator cannot take (no such
      // indicator, one older than its latest reading, another value at that moment) is skipped and said
      // in the outcome: retrying would not change it, and failing would undo the policy's other actions.
      const done = {
        type: "record_reading",
        index: action.index,
        indicator: action.indicator,
        at: action.at,
      };
      const indicator = await trx
        .selectFrom("indicators")
        .select("id")
        .where("unit_id", "=", policy.unitId)
        .where("name", "=", action.indicator)
        .executeTakeFirst();
      if (!indicator) {
        ctx.logger.warn(
          { policyId: policy.id, indicator: action.indicator },
          "record_reading: no such indicator",
        );
        return { ...done, skipped: "not_found" };
      }
      try {
        const result = await ctx.platform.indicators.recordIn(trx, tenantId, indicator.id, [
          { at: new Date(action.at), actuality: action.actuality },
        ]);
        return {
          ...done,
          indicatorId: indicator.id,
          actuality: action.actuality,
          ...(result.duplicates > 0 ? { duplicate: true } : {}),
        };
      } catch (error) {
        if (!CyberneticError.isInstance(error) || error.code !== "conflict") throw error;
        const reason = (error.details as { reason?: unknown } | undefined)?.reason;
        ctx.logger.warn(
          { policyId: policy.id, indicator: action.indicator, err: error },
          "record_reading: reading skipped",
        );
        return {
          ...done,
          indicatorId: indicator.id,
          skipped: typeof reason === "string" ? reason : "conflict",
        };
      }
    }
  }
}

/** S2 asked to decide an earlier event first (`conflict`, `details.reason` `ordering`). */
const isOrdering = (error: unknown) =>
  CyberneticError.isInstance(error) &&
  error.code === "conflict" &&
  (error.details as { reason?: unknown } | undefined)?.reason === "ordering";

/**
 * Runs one policy's evaluation; while S2 waits for an earlier event of a burst (evaluated by a job
 * running beside this one), tries again here every 50 ms for up to 5 s before leaving it to the job's
 * retries: bursts are decided in order within moments instead of after backoff.
 */
async function inOrder<T>(ctx: JobContext, run: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      if (!isOrdering(error) || attempt >= 100 || ctx.signal.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

const errorMessage = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).slice(0, 1_000);

/**
 * S5: evaluates one published event against the tenant's policies in effect now, by priority.
 *
 * Per policy, in its own transaction (one failing policy never blocks the others): claim the
 * (event, policy) pair in `policy_evaluations` first (ON CONFLICT DO NOTHING; already there → skip, so a
 * retried or duplicated job never doubles an effect), evaluate, run the actions in the same transaction
 * and, when it matched, write `policy.triggered` `{ policyId, eventId, outcome }`. Events at depth
 * `MAX_POLICY_DEPTH` or more (policy-caused chains) are recorded as `loop_guard` and not evaluated.
 *
 * Policies on a unit see only events of that unit's subtree. S2: a damped policy (`for` / `cooldown`)
 * asks `policies.dampIn` whether this match fires, in event order (it waits, briefly in place and then by
 * retrying, for an earlier matching event to be decided on); a held-back firing is recorded as
 * `suppressed` with its reason and runs nothing.
 *
 * A policy whose transaction fails (a `set_state` version conflict, a database error) leaves no record,
 * so the job is retried for it after the others are done; on the last attempt the failure itself is
 * recorded (`failed`, with `policy.triggered` carrying the error).
 */
export const policyEvaluateJob = defineJob({
  name: "policy.evaluate",
  schema: payloadSchema,
  policy: {
    retryLimit: 5,
    retryDelay: 1,
    retryDelayMax: 120,
    expireInSeconds: 120,
    heartbeatSeconds: 10,
    priority: "high",
    batchSize: 20,
    deadLetterRetentionDays: 30,
  },
  async handler({ tenantId, eventId }, ctx): Promise<JsonObject> {
    const loaded = await ctx.withTenant(async (trx) => {
      const found = await loadEvent(trx, eventId);
      if (!found) return null;
      const tenant = await trx
        .selectFrom("tenants")
        .select("active")
        .where("id", "=", tenantId)
        .executeTakeFirst();
      const unit = await eventUnit(trx, found.event);
      // A policy sees the events of its own unit and of every unit below it.
      const policies = (await ctx.platform.policies.inEffect(trx, new Date())).filter((p) =>
        unit.path.includes(p.unitId),
      );
      return {
        ...found,
        unit,
        active: tenant?.active ?? false,
        causation: await causationOf(trx, found),
        policies,
      };
    });
    if (!loaded) return { status: "event_gone", eventId };
    if (!loaded.active) return { status: "tenant_inactive", eventId };
    const { event, causation } = loaded;
    const depth = causation?.depth ?? 0;
    const last = ctx.job.attempt > ctx.job.retryLimit;
    const results: { policyId: string; status: PolicyStatus; error?: string }[] = [];

    for (const policy of loaded.policies) {
      if (!policyListensTo(policy.rules, event.type)) continue;
      const caused = childCausation(policy.id, event.id, depth);
      let matched = false;
      try {
        const status = await inOrder(ctx, () =>
          ctx.withTenant(async (trx): Promise<PolicyStatus> => {
            if (depth >= MAX_POLICY_DEPTH) {
              const outcome: JsonObject = {
                status: "loop_guard",
                depth,
                ...(causation ? { causedBy: causationJson(causation) } : {}),
              };
              return (await recordEvaluation(trx, tenantId, event.id, policy.id, false, outcome))
                ? "loop_guard"
                : "already_evaluated";
            }
            const context = await loadContext(trx, tenantId, event, loaded.unit);
            const verdict = evaluatePolicy(policy, event, context);
            // S2: a damped policy (`for` / `cooldown`) decides, in event order, whether this match fires.
            const damping =
              verdict.onMatched && verdict.errors.length === 0
                ? await ctx.platform.policies.dampIn(trx, tenantId, policy, event, {
                    held: verdict.matched,
                    wait: !last,
                  })
                : undefined;
            if (damping?.kind === "duplicate") return "already_evaluated";
            const suppressed = damping?.kind === "suppressed" ? damping : undefined;
            matched = verdict.matched && suppressed === undefined;
            const status: PolicyStatus = suppressed
              ? "suppressed"
              : verdict.matched
                ? "applied"
                : verdict.errors.length > 0
                  ? "error"
                  : "not_matched";
            const outcome: JsonObject = {
              status,
              depth,
              conditionResult: summarise(verdict.conditionResult),
              ...(verdict.errors.length > 0 ? { errors: verdict.errors.slice(0, 20) } : {}),
              ...(matched ? { actions: verdict.actions.map((a) => a.type) } : {}),
              ...(suppressed
                ? { suppressed: { reason: suppressed.reason, message: suppressed.message } }
                : {}),
            };
            if (!(await recordEvaluation(trx, tenantId, event.id, policy.id, verdict.matched, outcome)))
              return "already_evaluated";
            if (suppressed) return "suppressed";
            if (verdict.errors.length > 0)
              ctx.logger.warn(
                { policyId: policy.id, eventId: event.id, errors: verdict.errors },
                "policy not evaluable",
              );
            if (!matched) return status;
            const done: JsonObject[] = [];
            for (const action of verdict.actions) {
              done.push(await runAction(trx, ctx, tenantId, policy, event, action, context, caused));
            }
            await writeTriggered(
              trx,
              tenantId,
              policy,
              event.id,
              { status: "applied", actions: done },
              caused,
            );
            return "applied";
          }),
        );
        results.push({ policyId: policy.id, status });
      } catch (error) {
        const conflict = CyberneticError.isInstance(error) && error.code === "version_conflict";
        ctx.logger.warn(
          { err: error, policyId: policy.id, eventId: event.id, conflict, last },
          last ? "policy failed; recording the failure" : "policy failed; the job will retry it",
        );
        if (!last) {
          results.push({ policyId: policy.id, status: "retry", error: errorMessage(error) });
          continue;
        }
        const outcome: JsonObject = { status: "failed", depth, error: errorMessage(error) };
        await ctx.withTenant(async (trx) => {
          if (await recordEvaluation(trx, tenantId, event.id, policy.id, matched, outcome)) {
            if (matched) await writeTriggered(trx, tenantId, policy, event.id, outcome, caused);
          }
        });
        results.push({ policyId: policy.id, status: "failed", error: errorMessage(error) });
      }
    }

    const retry = results.filter((r) => r.status === "retry");
    if (retry.length > 0) {
      throw new Error(
        `policy evaluation of event ${event.id} will be retried for ${retry.length} ${retry.length === 1 ? "policy" : "policies"}: ${retry[0]?.error ?? ""}`,
      );
    }
    return {
      status: "evaluated",
      eventId: event.id,
      eventType: event.type,
      depth,
      policies: results.slice(0, 100).map((r) => ({ policyId: r.policyId, status: r.status })),
    };
  },
});
