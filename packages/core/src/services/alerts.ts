import { randomUUID } from "node:crypto";
import { type Selectable, sql } from "kysely";
import { type Clock, systemClock } from "../clock.js";
import {
  type Alert,
  type AlertActor,
  type AlertSeverity,
  type AlertStatus,
  alertActorSchema,
  alertTransitionSchema,
  listAlertsSchema,
  raiseAlertSchema,
} from "../contract/alerts.js";
import type { Page } from "../contract/common.js";
import type { EventData } from "../contract/events.js";
import type { Db } from "../database.js";
import { retryIdempotent } from "../database-errors.js";
import { CyberneticError, notFound } from "../errors.js";
import { appendEvent } from "../events/append-event.js";
import { decodeCursor, encodeCursor, isIsoTimestamp, isUuidString } from "../internal/cursor.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { JobQueue } from "../jobs.js";
import type { AlertsTable, JsonObject } from "../schema.js";
import { assertUuid, isUuid, type TenantTransaction, withTenant } from "../tenant-context.js";
import { alertChannels } from "./alert-channels.js";
import { recordNotificationIn } from "./notifications.js";
import { rootUnitIn, type UnitRow, unitIn } from "./unit-records.js";

/** An algedonic signal as the platform raises it (analysis, policies, audits, indicators). */
export interface AlgedonicSignal {
  severity: AlertSeverity;
  message: string;
  /** What raised it, e.g. `{ kind: "analysis", episodeId }` or `{ kind: "policy", policyId, eventId }`. */
  source: JsonObject;
  /** Makes the signal idempotent: the same key never alerts twice. */
  key: string;
  /** The unit that hurts; the root unit when absent or unknown. */
  unitId?: string;
  /**
   * Set when a policy action raises the signal: stamped on the `algedonic.alert` event and the
   * notifications, so policies reacting to them stop at the loop guard.
   */
  causedBy?: EventData<"algedonic.alert">["causedBy"];
}

/** What raising a signal did. */
export interface RaisedAlert {
  alert: Alert;
  /** False when an alert with the same key existed already (nothing new was written). */
  created: boolean;
  /** Notifications recorded on the unit's alert channels. */
  notifications: number;
}

/** What an acknowledgement or a resolution did. */
export interface AlertTransition {
  alert: Alert;
  /** False when the alert was already in that state (a second click of a Telegram button). */
  changed: boolean;
}

/** What one pass of `escalateDue` did. */
export interface EscalationPass {
  /** Alerts that climbed one level. */
  escalated: number;
  /** Due alerts another worker climbed first, or that were acknowledged in between. */
  skipped: number;
}

/**
 * Algedonic alerts: raised → acknowledged → resolved, with who and when. A pain alert nobody acknowledges
 * within its unit's escalation window climbs to the parent unit, and so on to the root, each step an
 * event and a notification on that level's alert channels.
 */
export interface AlertService {
  /**
   * Raises an alert by hand (`POST /v1/alerts`).
   *
   * @example
   * ```ts
   * await platform.alerts.raise(tenantId, { message: "Line 2 is on fire", unitId: line2.id });
   * ```
   */
  raise(tenantId: string, input: unknown, actor?: AlertActor): Promise<RaisedAlert>;
  /**
   * Raises a signal inside the caller's transaction: the alert row, `algedonic.alert`, and one
   * critical-priority notification per alert channel of its unit. A key raised before returns the
   * existing alert and writes nothing. `options.queue` overrides the platform's queue for the
   * notifications' jobs (the workers pass theirs).
   */
  raiseIn(
    trx: TenantTransaction,
    tenantId: string,
    signal: AlgedonicSignal,
    options?: { queue?: JobQueue },
  ): Promise<RaisedAlert>;
  /** One alert; `not_found` for unknown ids and other tenants' ids alike. */
  get(tenantId: string, id: string): Promise<Alert>;
  /** Newest first, keyset-paginated; by status (`open`: raised or acknowledged) and unit. */
  list(tenantId: string, input?: unknown): Promise<Page<Alert>>;
  /**
   * Acknowledges an alert: it stops climbing. Idempotent (an acknowledged alert is returned unchanged);
   * what a Telegram "acknowledge" button calls.
   *
   * @example
   * ```ts
   * await platform.alerts.acknowledge(tenantId, alertId, { kind: "telegram", id: "4211", name: "alice" });
   * ```
   * @throws CyberneticError `conflict` when the alert is resolved already.
   */
  acknowledge(tenantId: string, id: string, actor: AlertActor, input?: unknown): Promise<AlertTransition>;
  /** Resolves an alert (raised or acknowledged). Idempotent; what a Telegram "resolve" button calls. */
  resolve(tenantId: string, id: string, actor: AlertActor, input?: unknown): Promise<AlertTransition>;
  /**
   * Climbs every alert whose escalation window has passed (by the platform's clock) one level, across
   * tenants; run by the `alert.escalate` job. A step is a conditional update on (status, step) in the
   * alert's own tenant transaction, so it happens once however many passes race for it.
   */
  escalateDue(options?: { limit?: number; queue?: JobQueue }): Promise<EscalationPass>;
}

/** Options of `createAlertService`. */
export interface AlertServiceOptions {
  /** Enqueues the notifications' delivery jobs; without one they stay `pending`. */
  queue?: JobQueue;
  clock?: Clock;
}

type AlertRow = Selectable<AlertsTable>;

const actorOrNull = (value: JsonObject | null): AlertActor | null => {
  const parsed = value === null ? undefined : alertActorSchema.safeParse(value);
  return parsed?.success ? parsed.data : null;
};

/** Maps an alerts row to the API shape. */
export function toAlert(row: AlertRow): Alert {
  return {
    id: row.id,
    unitId: row.unit_id,
    levelUnitId: row.level_unit_id,
    severity: row.severity as AlertSeverity,
    message: row.message,
    source: row.source,
    status: row.status as AlertStatus,
    escalationStep: row.escalation_step,
    nextEscalationAt: iso(row.next_escalation_at),
    escalations: row.escalations as Alert["escalations"],
    raisedAt: iso(row.raised_at),
    acknowledgedAt: iso(row.acknowledged_at),
    acknowledgedBy: actorOrNull(row.acknowledged_by),
    resolvedAt: iso(row.resolved_at),
    resolvedBy: actorOrNull(row.resolved_by),
    note: row.note,
    updatedAt: iso(row.updated_at),
  };
}

/**
 * A unit's alert channels. The root's are the tenant's `settings.alerts` (where they were before units
 * existed) and its own; any other unit's are its own.
 */
async function channelsOf(trx: TenantTransaction, unit: UnitRow) {
  const own = alertChannels({ alerts: unit.alerts });
  if (unit.parent_id !== null) return own;
  const tenant = await trx.selectFrom("tenants").select("settings").executeTakeFirst();
  return [...alertChannels(tenant?.settings ?? {}), ...own];
}

const icon = (severity: AlertSeverity) =>
  severity === "pain" ? "🚨 ALGEDONIC PAIN" : "✨ ALGEDONIC PLEASURE";

/** Notifies every channel of `unit` about `alert`; the key makes each (step, channel) send once. */
async function notify(
  trx: TenantTransaction,
  queue: JobQueue | undefined,
  tenantId: string,
  alert: AlertRow,
  unit: UnitRow,
  text: string,
  causedBy: AlgedonicSignal["causedBy"],
): Promise<number> {
  const channels = await channelsOf(trx, unit);
  const step = alert.escalation_step === 0 ? "" : `step${alert.escalation_step}:`;
  let recorded = 0;
  for (const [index, ch] of channels.entries()) {
    const data = {
      type: "algedonic.alert",
      alertId: alert.id,
      unitId: unit.id,
      severity: alert.severity,
      message: alert.message,
      source: alert.source,
      escalationStep: alert.escalation_step,
    };
    const id = await recordNotificationIn(trx, queue, tenantId, {
      channel: ch.channel,
      target: ch.to,
      payload:
        ch.channel === "telegram"
          ? { text, alertId: alert.id, ...(causedBy ? { causedBy } : {}) }
          : { ...data, text, ...(causedBy ? { causedBy } : {}) },
      idempotencyKey: `algedonic:${alert.key}:${step}${index}`,
      priority: "critical",
    });
    if (id) recorded++;
  }
  return recorded;
}

/**
 * Raises an algedonic signal in the caller's transaction: the alert row (its escalation window starting
 * now, by `deps.clock`), `algedonic.alert`, and one critical-priority notification per alert channel of
 * its unit. A key raised before returns the existing alert and writes nothing. `platform.alerts.raiseIn`
 * is this with the platform's queue and clock.
 *
 * @example
 * ```ts
 * await withTenant(db, tenantId, (trx) =>
 *   raiseAlertIn(trx, tenantId, { severity: "pain", message: "Line 3 down", source: { kind: "sensor" },
 *     key: "sensor:line-3", unitId: line3.id }, { queue }),
 * );
 * ```
 */
export async function raiseAlertIn(
  trx: TenantTransaction,
  tenantId: string,
  signal: AlgedonicSignal,
  deps: { queue?: JobQueue; clock?: Clock } = {},
): Promise<RaisedAlert> {
  const named = isUuid(signal.unitId)
    ? await trx.selectFrom("units").selectAll().where("id", "=", signal.unitId).executeTakeFirst()
    : undefined;
  const unit = named ?? (await rootUnitIn(trx));
  const now = (deps.clock ?? systemClock)();
  const climbs = signal.severity === "pain" && unit.parent_id !== null;
  const inserted = await trx
    .insertInto("alerts")
    .values({
      tenant_id: tenantId,
      unit_id: unit.id,
      level_unit_id: unit.id,
      severity: signal.severity,
      message: signal.message.slice(0, 4_000),
      source: JSON.stringify(signal.source),
      key: signal.key.slice(0, 300),
      next_escalation_at: climbs ? new Date(now.getTime() + unit.escalation_seconds * 1000) : null,
      raised_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(["tenant_id", "key"]).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (!inserted) {
    const existing = await trx
      .selectFrom("alerts")
      .selectAll()
      .where("key", "=", signal.key.slice(0, 300))
      .executeTakeFirstOrThrow();
    return { alert: toAlert(existing), created: false, notifications: 0 };
  }
  await appendEvent(trx, tenantId, "algedonic.alert", {
    severity: signal.severity,
    message: inserted.message,
    source: signal.source,
    ...(signal.causedBy ? { causedBy: signal.causedBy } : {}),
    alertId: inserted.id,
    unitId: unit.id,
  });
  const text = `${icon(signal.severity)}: ${inserted.message}`;
  const notifications = await notify(trx, deps.queue, tenantId, inserted, unit, text, signal.causedBy);
  return { alert: toAlert(inserted), created: true, notifications };
}

/** Creates the alert service. */
export function createAlertService(db: Db, options: AlertServiceOptions = {}): AlertService {
  const clock = options.clock ?? systemClock;

  const raiseIn: AlertService["raiseIn"] = (trx, tenantId, signal, raiseOptions = {}) => {
    const queue = raiseOptions.queue ?? options.queue;
    return raiseAlertIn(trx, tenantId, signal, { ...(queue ? { queue } : {}), clock });
  };

  const transition = async (
    tenantId: string,
    id: string,
    to: "acknowledged" | "resolved",
    rawActor: AlertActor,
    raw: unknown,
  ): Promise<AlertTransition> => {
    const alertId = assertUuid(id, "id");
    const actor = parseInput(alertActorSchema, rawActor, "actor");
    const input = parseInput(alertTransitionSchema, raw ?? {}, "alert transition");
    const by: AlertActor =
      input.by !== undefined && actor.name === undefined ? { ...actor, name: input.by } : actor;
    return withTenant(db, tenantId, async (trx) => {
      const current = await trx
        .selectFrom("alerts")
        .selectAll()
        .where("id", "=", alertId)
        .forUpdate()
        .executeTakeFirst();
      if (!current) throw notFound("alert", alertId);
      if (current.status === to) return { alert: toAlert(current), changed: false };
      if (current.status === "resolved") {
        throw new CyberneticError("conflict", "the alert is resolved already", {
          details: { reason: "resolved", status: current.status },
        });
      }
      const now = clock();
      const row = await trx
        .updateTable("alerts")
        .set({
          status: to,
          next_escalation_at: null,
          ...(to === "acknowledged"
            ? { acknowledged_at: now, acknowledged_by: JSON.stringify(by) }
            : { resolved_at: now, resolved_by: JSON.stringify(by) }),
          ...(input.note === undefined ? {} : { note: input.note }),
          updated_at: now,
        })
        .where("id", "=", alertId)
        .returningAll()
        .executeTakeFirstOrThrow();
      await appendEvent(
        trx,
        tenantId,
        to === "acknowledged" ? "algedonic.acknowledged" : "algedonic.resolved",
        {
          alertId,
          unitId: row.level_unit_id,
          by,
        },
      );
      return { alert: toAlert(row), changed: true };
    });
  };

  /** Climbs one due alert one level, if it is still raised at `step`; true when it did. */
  const climb = async (
    tenantId: string,
    alertId: string,
    step: number,
    queue: JobQueue | undefined,
  ): Promise<boolean> =>
    withTenant(db, tenantId, async (trx) => {
      const now = clock();
      const alert = await trx
        .selectFrom("alerts")
        .selectAll()
        .where("id", "=", alertId)
        .where("status", "=", "raised")
        .where("escalation_step", "=", step)
        .where("next_escalation_at", "<=", now)
        .forUpdate()
        .executeTakeFirst();
      if (!alert) return false;
      const level = await unitIn(trx, alert.level_unit_id);
      const parent = level.parent_id === null ? undefined : await unitIn(trx, level.parent_id);
      if (!parent) {
        // At the root already (its window was set before a move made it the root's): nowhere to climb.
        await trx
          .updateTable("alerts")
          .set({ next_escalation_at: null, updated_at: now })
          .where("id", "=", alert.id)
          .execute();
        return false;
      }
      const next =
        parent.parent_id === null ? null : new Date(now.getTime() + parent.escalation_seconds * 1000);
      const entry = { step: step + 1, fromUnitId: level.id, toUnitId: parent.id, at: now.toISOString() };
      const row = await trx
        .updateTable("alerts")
        .set({
          level_unit_id: parent.id,
          escalation_step: step + 1,
          next_escalation_at: next,
          escalations: sql<string>`escalations || ${JSON.stringify([entry])}::jsonb`,
          updated_at: now,
        })
        .where("id", "=", alert.id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await appendEvent(trx, tenantId, "algedonic.escalated", {
        alertId: alert.id,
        fromUnitId: level.id,
        toUnitId: parent.id,
        step: step + 1,
        severity: row.severity as AlertSeverity,
        message: row.message,
      });
      const text = `⏫ ESCALATED from ${level.name} (nobody acknowledged it within ${level.escalation_seconds}s): ${icon(row.severity as AlertSeverity)}: ${row.message}`;
      await notify(trx, queue, tenantId, row, parent, text, undefined);
      return true;
    });

  return {
    async raise(tenantId, raw, actor) {
      const input = parseInput(raiseAlertSchema, raw, "alert");
      return withTenant(db, tenantId, async (trx) => {
        if (input.unitId !== undefined) {
          const unit = await unitIn(trx, input.unitId);
          if (unit.archived_at !== null) {
            throw new CyberneticError("conflict", "the unit is archived", {
              details: { reason: "archived" },
            });
          }
        }
        return raiseIn(trx, tenantId, {
          severity: input.severity,
          message: input.message,
          source: { kind: "api", ...(actor ? { by: actor } : {}), ...(input.source ?? {}) } as JsonObject,
          key: input.key === undefined ? `api:${randomUUID()}` : `api:${input.key}`,
          ...(input.unitId === undefined ? {} : { unitId: input.unitId }),
        });
      });
    },

    raiseIn,

    async get(tenantId, id) {
      const alertId = assertUuid(id, "id");
      const row = await withTenant(
        db,
        tenantId,
        (trx) => trx.selectFrom("alerts").selectAll().where("id", "=", alertId).executeTakeFirst(),
        { readOnly: true },
      );
      if (!row) throw notFound("alert", alertId);
      return toAlert(row);
    },

    async list(tenantId, raw = {}) {
      const input = parseInput(listAlertsSchema, raw, "query");
      const after =
        input.cursor === undefined
          ? undefined
          : decodeCursor<[string, string]>(input.cursor, [isIsoTimestamp, isUuidString]);
      const rows = await withTenant(
        db,
        tenantId,
        (trx) => {
          let q = trx
            .selectFrom("alerts")
            .selectAll()
            .select(
              sql<string>`to_char(raised_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as("c"),
            )
            .orderBy("raised_at", "desc")
            .orderBy("id", "desc")
            .limit(input.limit + 1);
          if (input.status === "open") q = q.where("status", "in", ["raised", "acknowledged"]);
          else if (input.status !== undefined) q = q.where("status", "=", input.status);
          const unitId = input.unitId;
          if (unitId !== undefined) {
            q = q.where((eb) => eb.or([eb("unit_id", "=", unitId), eb("level_unit_id", "=", unitId)]));
          }
          if (after) {
            const [raisedAt, id] = after;
            q = q.where(sql<boolean>`(raised_at, id) < (${raisedAt}::timestamptz, ${id}::uuid)`);
          }
          return q.execute();
        },
        { readOnly: true },
      );
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      return rows.length > input.limit && last
        ? { items: page.map(toAlert), nextCursor: encodeCursor([last.c, last.id]) }
        : { items: page.map(toAlert) };
    },

    acknowledge: (tenantId, id, actor, input) => transition(tenantId, id, "acknowledged", actor, input),
    resolve: (tenantId, id, actor, input) => transition(tenantId, id, "resolved", actor, input),

    async escalateDue(passOptions = {}) {
      const limit = Math.max(1, Math.min(passOptions.limit ?? 500, 10_000));
      const queue = passOptions.queue ?? options.queue;
      const { rows } = await retryIdempotent(() =>
        sql<{ tenant_id: string; id: string; escalation_step: number }>`
          select tenant_id, id, escalation_step from cybernetic.due_alerts(${clock()}, ${limit})`.execute(db),
      );
      const pass: EscalationPass = { escalated: 0, skipped: 0 };
      for (const due of rows) {
        if (await climb(due.tenant_id, due.id, due.escalation_step, queue)) pass.escalated++;
        else pass.skipped++;
      }
      return pass;
    },
  };
}
