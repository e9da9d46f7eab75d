import {
  appendEvent,
  CyberneticError,
  type CyberneticEvent,
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
import { raiseAlgedonic } from "../notify/algedonic.js";
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
  | "not_matched"
  | "error"
  | "loop_guard"
  | "already_evaluated"
  | "failed"
  | "retry";

interface LoadedEvent {
  event: CyberneticEvent;
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

async function loadContext(
  trx: TenantTransaction,
  tenantId: string,
  event: CyberneticEvent,
): Promise<PolicyContextInput> {
  const context: PolicyContextInput = {};
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
  event: CyberneticEvent,
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
      // The condition saw the state at this version; if another writer got in between, the patch would
      // rest on a state the condition never saw: conflict, and the job is retried on fresh state.
      const expected = context.state?.system === action.system ? context.state.version : undefined;
      const state = await ctx.platform.systems.patchIn(trx, tenantId, action.system, action.patch, expected);
      return { type: "set_state", index: action.index, system: action.system, version: state.version };
    }
    case "algedonic": {
      const notifications = await raiseAlgedonic(trx, ctx.queue, tenantId, {
        severity: action.severity,
        message: action.message,
        source: { kind: "policy", policyId: policy.id, eventId: event.id },
        key,
        causedBy,
      });
      return { type: "algedonic", index: action.index, severity: action.severity, notifications };
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
 * A policy whose transaction fails (a `set_state` version conflict, a database error) leaves no record,
 * so the job is retried for it after the others are done; on the last attempt the failure itself is
 * recorded (`failed`, with `policy.triggered` carrying the error).
 */
export const policyEvaluateJob = defineJob({
  name: "policy.evaluate",
  schema: payloadSchema,
  batchSize: 20,
  async handler({ tenantId, eventId }, ctx): Promise<JsonObject> {
    const loaded = await ctx.withTenant(async (trx) => {
      const found = await loadEvent(trx, eventId);
      if (!found) return null;
      const tenant = await trx
        .selectFrom("tenants")
        .select("active")
        .where("id", "=", tenantId)
        .executeTakeFirst();
      return {
        ...found,
        active: tenant?.active ?? false,
        causation: await causationOf(trx, found),
        policies: await ctx.platform.policies.inEffect(trx, new Date()),
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
        const status = await ctx.withTenant(async (trx): Promise<PolicyStatus> => {
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
          const context = await loadContext(trx, tenantId, event);
          const verdict = evaluatePolicy(policy, event, context);
          matched = verdict.matched;
          const status: PolicyStatus = verdict.matched
            ? "applied"
            : verdict.errors.length > 0
              ? "error"
              : "not_matched";
          const outcome: JsonObject = {
            status,
            depth,
            conditionResult: summarise(verdict.conditionResult),
            ...(verdict.errors.length > 0 ? { errors: verdict.errors.slice(0, 20) } : {}),
            ...(verdict.matched ? { actions: verdict.actions.map((a) => a.type) } : {}),
          };
          if (!(await recordEvaluation(trx, tenantId, event.id, policy.id, verdict.matched, outcome)))
            return "already_evaluated";
          if (verdict.errors.length > 0)
            ctx.logger.warn(
              { policyId: policy.id, eventId: event.id, errors: verdict.errors },
              "policy not evaluable",
            );
          if (!verdict.matched) return status;
          const done: JsonObject[] = [];
          for (const action of verdict.actions) {
            done.push(await runAction(trx, ctx, tenantId, policy, event, action, context, caused));
          }
          await writeTriggered(trx, tenantId, policy, event.id, { status: "applied", actions: done }, caused);
          return "applied";
        });
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
