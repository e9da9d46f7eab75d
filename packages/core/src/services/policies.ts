import { type Selectable, sql } from "kysely";
import type { Page } from "../contract/common.js";
import {
  createPolicySchema,
  listPoliciesSchema,
  listPolicyEvaluationsSchema,
  type Policy,
  type PolicyEvaluationPage,
  type PolicyEvaluationRecord,
  type PolicyEvaluationStatus,
  policyEvaluationStatuses,
  type SuppressionReason,
  updatePolicySchema,
} from "../contract/policies.js";
import type { PolicyRules } from "../contract/policy-rules.js";
import type { Db } from "../database.js";
import { notFound, versionConflict } from "../errors.js";
import { appendEvent } from "../events/append-event.js";
import { decodeCursor, encodeCursor, isInteger, isIsoTimestamp, isUuidString } from "../internal/cursor.js";
import { mapPgError } from "../internal/pg-errors.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { PoliciesTable } from "../schema.js";
import { assertUuid, type TenantTransaction, withTenant } from "../tenant-context.js";
import {
  type DampedEvent,
  type DampingDecision,
  dampIn,
  dampingOf,
  dampingStateIn,
  orderedDampingOf,
  startDampingIn,
} from "./policy-damping.js";
import { targetUnitIn } from "./unit-records.js";

const isEventId = (v: unknown): v is string => typeof v === "string" && /^[1-9]\d{0,18}$/.test(v);

/** S5 policies: rules evaluated against events. */
export interface PolicyService {
  /**
   * Creates a policy; its rules are validated against the grammar first.
   *
   * @example
   * ```ts
   * await platform.policies.create(tenantId, {
   *   name: "high risk to ops",
   *   rules: { on: ["episode.analyzed"], if: { "==": [{ var: "event.data.risk" }, "high"] },
   *            then: [{ type: "notify", channel: "telegram", to: "-100123", template: "{{event.data.title}}" }] },
   * });
   * ```
   * @throws CyberneticError `validation_failed` naming the offending part of the rules; `duplicate` name.
   */
  create(tenantId: string, input: unknown): Promise<Policy>;
  /** One policy. */
  get(tenantId: string, id: string): Promise<Policy>;
  /** Updates fields; with `version` a stale version is a `version_conflict`. Bumps the version. */
  update(tenantId: string, id: string, input: unknown): Promise<Policy>;
  /** Activates or deactivates a policy. */
  setActive(tenantId: string, id: string, active: boolean): Promise<Policy>;
  /** Deletes a policy and writes `policy.deleted`. */
  delete(tenantId: string, id: string): Promise<void>;
  /** Highest priority first, keyset-paginated; `active` filters. */
  list(tenantId: string, input?: unknown): Promise<Page<Policy>>;
  /** Active policies in effect at `at`, highest priority first (what S5 evaluates). */
  inEffect(trx: TenantTransaction, at?: Date): Promise<Policy[]>;
  /**
   * S2: whether a damped policy (`for` / `cooldown`) fires for an event whose `on` pattern matched,
   * decided in the evaluation's transaction (see `policy-damping.ts`). A policy with a `record_reading`
   * action is decided in event order the same way, with no damping (`orderedDampingOf`). Undefined for
   * any other policy that is not damped: it fires whenever its condition holds.
   *
   * @throws CyberneticError `conflict` (`details.reason` `ordering`) while an earlier matching event has
   * not been decided on and `wait` is set: retry later.
   */
  dampIn(
    trx: TenantTransaction,
    tenantId: string,
    policy: Policy,
    event: DampedEvent,
    options: { held: boolean; wait: boolean },
  ): Promise<DampingDecision | { kind: "duplicate" } | undefined>;
  /**
   * A policy's recorded evaluations, newest event first, with S2's damping state: every suppressed
   * firing is listed with its reason, so damping is auditable, not silent.
   *
   * @example
   * ```ts
   * const { items, damping } = await platform.policies.evaluations(tenantId, policyId, { status: "suppressed" });
   * ```
   */
  evaluations(tenantId: string, id: string, input?: unknown): Promise<PolicyEvaluationPage>;
}

/** Maps a policies row to the API shape. */
export function toPolicy(row: Selectable<PoliciesTable>): Policy {
  return {
    id: row.id,
    unitId: row.unit_id,
    name: row.name,
    description: row.description,
    rules: row.rules as unknown as PolicyRules,
    priority: row.priority,
    active: row.active,
    effectiveFrom: iso(row.effective_from),
    effectiveUntil: iso(row.effective_until),
    version: row.version,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

const duplicateName = { policies_tenant_id_name_key: "a policy with this name already exists" };

/** Creates the policy service. */
export function createPolicyService(db: Db): PolicyService {
  const load = async (trx: TenantTransaction, id: string) => {
    const row = await trx.selectFrom("policies").selectAll().where("id", "=", id).executeTakeFirst();
    if (!row) throw notFound("policy", id);
    return row;
  };

  // async: bad input must reject the returned promise, not throw before there is one.
  const update = async (tenantId: string, id: string, raw: unknown): Promise<Policy> => {
    const policyId = assertUuid(id, "id");
    const input = parseInput(updatePolicySchema, raw, "policy update");
    return withTenant(db, tenantId, async (trx) => {
      const current = await trx
        .selectFrom("policies")
        .selectAll()
        .where("id", "=", policyId)
        .forUpdate()
        .executeTakeFirst();
      if (!current) throw notFound("policy", policyId);
      if (input.version !== undefined && input.version !== current.version) {
        throw versionConflict("policy", input.version, current.version);
      }
      const unit = input.unitId === undefined ? undefined : (await targetUnitIn(trx, input.unitId)).id;
      const from = input.effectiveFrom === undefined ? current.effective_from : input.effectiveFrom;
      const until = input.effectiveUntil === undefined ? current.effective_until : input.effectiveUntil;
      const row = await trx
        .updateTable("policies")
        .set({
          ...(input.name === undefined ? {} : { name: input.name }),
          ...(input.description === undefined ? {} : { description: input.description }),
          ...(input.rules === undefined ? {} : { rules: JSON.stringify(input.rules) }),
          ...(input.priority === undefined ? {} : { priority: input.priority }),
          ...(input.active === undefined ? {} : { active: input.active }),
          ...(unit === undefined ? {} : { unit_id: unit }),
          effective_from: from,
          effective_until: until,
          version: current.version + 1,
          updated_at: sql<Date>`now()`,
        })
        .where("id", "=", policyId)
        .returningAll()
        .executeTakeFirstOrThrow()
        .catch((e: unknown) => {
          throw mapPgError(e, {
            ...duplicateName,
            policies_check: "effectiveFrom must not be after effectiveUntil",
          });
        });
      if (orderedDampingOf(row.rules)) await startDampingIn(trx, tenantId, row.id);
      await appendEvent(trx, tenantId, "policy.updated", {
        policyId,
        version: row.version,
        active: row.active,
      });
      return toPolicy(row);
    });
  };

  return {
    async create(tenantId, raw) {
      const input = parseInput(createPolicySchema, raw, "policy");
      return withTenant(db, tenantId, async (trx) => {
        const unit = input.unitId === undefined ? undefined : (await targetUnitIn(trx, input.unitId)).id;
        const row = await trx
          .insertInto("policies")
          .values({
            tenant_id: tenantId,
            ...(unit === undefined ? {} : { unit_id: unit }),
            name: input.name,
            description: input.description,
            rules: JSON.stringify(input.rules),
            priority: input.priority,
            active: input.active,
            effective_from: input.effectiveFrom ?? null,
            effective_until: input.effectiveUntil ?? null,
          })
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((e: unknown) => {
            throw mapPgError(e, duplicateName);
          });
        if (orderedDampingOf(row.rules)) await startDampingIn(trx, tenantId, row.id);
        await appendEvent(trx, tenantId, "policy.created", { policyId: row.id, name: row.name });
        return toPolicy(row);
      });
    },

    async get(tenantId, id) {
      const policyId = assertUuid(id, "id");
      return toPolicy(await withTenant(db, tenantId, (trx) => load(trx, policyId), { readOnly: true }));
    },

    update,
    setActive: (tenantId, id, active) => update(tenantId, id, { active }),

    async delete(tenantId, id) {
      const policyId = assertUuid(id, "id");
      await withTenant(db, tenantId, async (trx) => {
        const row = await trx
          .deleteFrom("policies")
          .where("id", "=", policyId)
          .returning(["id", "name"])
          .executeTakeFirst();
        if (!row) throw notFound("policy", policyId);
        await appendEvent(trx, tenantId, "policy.deleted", { policyId, name: row.name });
      });
    },

    async list(tenantId, raw = {}) {
      const input = parseInput(listPoliciesSchema, raw, "query");
      const after =
        input.cursor === undefined
          ? undefined
          : decodeCursor<[number, string, string]>(input.cursor, [isInteger, isIsoTimestamp, isUuidString]);
      const rows = await withTenant(
        db,
        tenantId,
        (trx) => {
          let q = trx
            .selectFrom("policies")
            .selectAll()
            .select(
              sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
                "cursor_ts",
              ),
            )
            .orderBy("priority", "desc")
            .orderBy("created_at", "asc")
            .orderBy("id", "asc")
            .limit(input.limit + 1);
          if (input.active !== undefined) q = q.where("active", "=", input.active);
          if (input.unitId !== undefined) q = q.where("unit_id", "=", input.unitId);
          if (after) {
            const [priority, createdAt, id] = after;
            q = q.where(
              sql<boolean>`(priority < ${priority} or (priority = ${priority} and (created_at, id) > (${createdAt}::timestamptz, ${id}::uuid)))`,
            );
          }
          return q.execute();
        },
        { readOnly: true },
      );
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      return rows.length > input.limit && last
        ? { items: page.map(toPolicy), nextCursor: encodeCursor([last.priority, last.cursor_ts, last.id]) }
        : { items: page.map(toPolicy) };
    },

    async dampIn(trx, tenantId, policy, event, options) {
      const params = orderedDampingOf(policy.rules);
      if (!params) return undefined;
      return dampIn(trx, tenantId, policy, params, event, options);
    },

    async evaluations(tenantId, id, raw = {}) {
      const policyId = assertUuid(id, "id");
      const input = parseInput(listPolicyEvaluationsSchema, raw, "query");
      const before =
        input.cursor === undefined ? undefined : decodeCursor<[string]>(input.cursor, [isEventId])[0];
      return withTenant(
        db,
        tenantId,
        async (trx) => {
          const policy = toPolicy(await load(trx, policyId));
          let q = trx
            .selectFrom("policy_evaluations")
            .leftJoin("events", "events.id", "policy_evaluations.event_id")
            .select([
              "policy_evaluations.event_id",
              "policy_evaluations.matched",
              "policy_evaluations.outcome",
              "policy_evaluations.evaluated_at",
              "events.type",
            ])
            .where("policy_evaluations.policy_id", "=", policyId)
            .orderBy("policy_evaluations.event_id", "desc")
            .limit(input.limit + 1);
          if (input.status !== undefined) {
            q = q.where(sql<boolean>`policy_evaluations.outcome->>'status' = ${input.status}`);
          }
          if (before !== undefined) {
            q = q.where("policy_evaluations.event_id", "<", sql<string>`${before}::bigint`);
          }
          const rows = await q.execute();
          const params = dampingOf(policy.rules);
          const items = rows.slice(0, input.limit).map((r): PolicyEvaluationRecord => {
            const status = (policyEvaluationStatuses as readonly string[]).includes(String(r.outcome.status))
              ? (r.outcome.status as PolicyEvaluationStatus)
              : "failed";
            const suppressed = r.outcome.suppressed as { reason?: unknown; message?: unknown } | undefined;
            return {
              eventId: String(r.event_id),
              eventType: r.type ?? null,
              evaluatedAt: iso(r.evaluated_at),
              matched: r.matched,
              status,
              suppressed:
                status === "suppressed" && suppressed
                  ? {
                      reason: suppressed.reason as SuppressionReason,
                      message: String(suppressed.message ?? ""),
                    }
                  : null,
              outcome: r.outcome,
            };
          });
          const last = items.at(-1);
          const page: PolicyEvaluationPage = {
            items,
            damping: params ? await dampingStateIn(trx, policyId, params) : null,
          };
          if (rows.length > input.limit && last) page.nextCursor = encodeCursor([last.eventId]);
          return page;
        },
        { readOnly: true },
      );
    },

    async inEffect(trx, at = new Date()) {
      const rows = await trx
        .selectFrom("policies")
        .selectAll()
        .where("active", "=", true)
        .where((eb) => eb.or([eb("effective_from", "is", null), eb("effective_from", "<=", at)]))
        .where((eb) => eb.or([eb("effective_until", "is", null), eb("effective_until", ">", at)]))
        .orderBy("priority", "desc")
        .orderBy("created_at", "asc")
        .limit(1000)
        .execute();
      return rows.map(toPolicy);
    },
  };
}
