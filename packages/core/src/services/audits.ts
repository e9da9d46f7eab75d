import { createHash } from "node:crypto";
import { type StorageAdapter, StorageError } from "@cybernetic/storage";
import { type Selectable, sql } from "kysely";
import { type Clock, systemClock } from "../clock.js";
import {
  type Audit,
  type AuditCheck,
  type AuditFinding,
  type AuditSummary,
  type FindingSeverity,
  listAuditsSchema,
  runAuditSchema,
} from "../contract/audits.js";
import type { Page } from "../contract/common.js";
import type { Db } from "../database.js";
import { notFound } from "../errors.js";
import { appendEvent } from "../events/append-event.js";
import { decodeCursor, encodeCursor, isIsoTimestamp, isUuidString } from "../internal/cursor.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { JobQueue } from "../jobs.js";
import type { AuditFindingsTable, AuditsTable, JsonObject } from "../schema.js";
import { assertUuid, type TenantTransaction, withTenant } from "../tenant-context.js";
import { raiseAlertIn } from "./alerts.js";
import { rootUnitIn, type UnitRow, unitIn } from "./unit-records.js";

/**
 * S3*, the sporadic audit: it samples each unit and checks what S1's own reporting cannot hide (see
 * `auditChecks`). The scheduled `audit.run` job runs it at random moments; `POST /v1/audits` on demand.
 */
export interface AuditService {
  /**
   * Audits a unit and every active unit below it (default the whole tenant) and stores the audit with
   * its findings, an `audit.finding` event per finding, an algedonic pain alert per severe finding and an
   * `audit.completed` event, all in one transaction.
   *
   * @example
   * ```ts
   * const audit = await platform.audits.run(tenantId, { sample: 20 });
   * const severe = audit.findings.filter((f) => f.severity === "severe");
   * ```
   */
  run(tenantId: string, input?: unknown, options?: { trigger?: "manual" | "scheduled" }): Promise<Audit>;
  /** One audit with its findings; `not_found` for unknown ids and other tenants' ids alike. */
  get(tenantId: string, id: string): Promise<Audit>;
  /** Audits, newest first, keyset-paginated. */
  list(tenantId: string, input?: unknown): Promise<Page<AuditSummary>>;
  /** The latest audit findings about each of these units (for viability), by unit id. */
  latestFindingsIn(trx: TenantTransaction, unitIds: readonly string[]): Promise<Map<string, AuditFinding[]>>;
}

/** Options of `createAuditService`. */
export interface AuditServiceOptions {
  /** Where artifact blobs are; without it the artifact check is skipped (and the summary says so). */
  storage?: StorageAdapter;
  /** Enqueues the delivery of alerts raised by severe findings. */
  queue?: JobQueue;
  clock?: Clock;
  /** Most artifact bytes one audit reads back to hash. Default 256 MiB. */
  maxArtifactBytes?: number;
}

/** A finding before it is stored. */
interface Found {
  unitId: string;
  check: AuditCheck;
  severity: FindingSeverity;
  subject: JsonObject;
  message: string;
  details: JsonObject;
}

const MINUTE = 60_000;
/** An episode analysing, or a notification in delivery, this long is stuck (a warning)… */
const STUCK_MS = 15 * MINUTE;
/** …and this long, severe. */
const STUCK_SEVERE_MS = 60 * MINUTE;
/** Policy evaluations looked at: this recent. */
const POLICY_WINDOW_MS = 24 * 60 * MINUTE;
/** Most findings one audit stores. */
const MAX_FINDINGS = 500;

const ago = (ms: number) => {
  const minutes = Math.floor(ms / MINUTE);
  return minutes < 120 ? `${minutes} minutes` : `${Math.floor(minutes / 60)} hours`;
};

function toFinding(row: Selectable<AuditFindingsTable>): AuditFinding {
  return {
    id: row.id,
    auditId: row.audit_id,
    unitId: row.unit_id,
    check: row.check_name as AuditCheck,
    severity: row.severity as FindingSeverity,
    subject: row.subject,
    message: row.message,
    details: row.details,
    createdAt: iso(row.created_at),
  };
}

function toSummary(row: Selectable<AuditsTable>): AuditSummary {
  return {
    id: row.id,
    unitId: row.unit_id,
    trigger: row.trigger as AuditSummary["trigger"],
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
    summary: row.summary,
  };
}

const SEVERITY_RANK: Record<FindingSeverity, number> = { severe: 0, warning: 1, info: 2 };
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** The order findings are listed in: severe first, then by check, then by id (as `get` sorts them). */
const byImportance = (a: AuditFinding, b: AuditFinding) =>
  SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || compare(a.check, b.check) || compare(a.id, b.id);

/** SHA-256 and size of a stored blob, read back as a stream. */
async function digest(storage: StorageAdapter, key: string): Promise<{ sha256: string; size: number }> {
  const { body } = await storage.get(key);
  const hash = createHash("sha256");
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha256: hash.digest("hex"), size };
}

/** Creates the audit service. */
export function createAuditService(db: Db, options: AuditServiceOptions = {}): AuditService {
  const clock = options.clock ?? systemClock;
  const maxArtifactBytes = options.maxArtifactBytes ?? 256 * 1024 ** 2;

  /** Phase 1, read only: the units in scope and every sample the checks look at. */
  const gather = (tenantId: string, unitId: string | undefined, sample: number, now: Date) =>
    withTenant(
      db,
      tenantId,
      async (trx) => {
        const top = unitId === undefined ? await rootUnitIn(trx) : await unitIn(trx, unitId);
        const units = await trx
          .selectFrom("units")
          .selectAll()
          .where(sql<boolean>`path @> array[${top.id}]::uuid[]`)
          .where("archived_at", "is", null)
          .limit(1000)
          .execute();
        const ids = units.map((u) => u.id);
        const stuckBefore = new Date(now.getTime() - STUCK_MS);
        // Each check samples at most `sample` items per unit, at random: sporadic, not exhaustive.
        const perUnit = sql`row_number() over (partition by unit_id order by random())`;
        const { rows: episodes } = await sql<{
          id: string;
          unit_id: string;
          title: string;
          updated_at: Date;
        }>`
          select id, unit_id, title, updated_at from (
            select id, unit_id, title, updated_at, ${perUnit} as n from cybernetic.episodes
             where unit_id = any(${ids}::uuid[]) and status = 'analyzing' and updated_at < ${stuckBefore}) s
           where n <= ${sample}`.execute(trx);
        const { rows: states } = await sql<{
          unit_id: string;
          system: number;
          version: number;
          updated_at: Date;
        }>`
          select s.unit_id, s.system, s.version, s.updated_at from cybernetic.system_states s
            join cybernetic.units u on u.id = s.unit_id
           where s.unit_id = any(${ids}::uuid[]) and u.state_interval_seconds is not null
             and s.updated_at < ${now}::timestamptz - make_interval(secs => u.state_interval_seconds)
           order by s.unit_id, s.system`.execute(trx);
        const { rows: policies } = await sql<{
          unit_id: string;
          id: string;
          name: string;
          errors: number;
          failed: number;
          last_at: Date;
        }>`
          select unit_id, id, name, errors, failed, last_at from (
            select p.unit_id, p.id, p.name,
                   count(*) filter (where pe.outcome->>'status' = 'error')::int as errors,
                   count(*) filter (where pe.outcome->>'status' = 'failed')::int as failed,
                   max(pe.evaluated_at) as last_at,
                   row_number() over (partition by p.unit_id order by random()) as n
              from cybernetic.policies p
              join cybernetic.policy_evaluations pe on pe.policy_id = p.id
             where p.unit_id = any(${ids}::uuid[]) and p.active
               and pe.evaluated_at > ${new Date(now.getTime() - POLICY_WINDOW_MS)}
               and pe.outcome->>'status' in ('error', 'failed')
             group by p.unit_id, p.id, p.name) s
           where n <= ${sample}`.execute(trx);
        const { rows: artifacts } = await sql<{
          id: string;
          unit_id: string;
          path: string;
          size: string;
          sha256: string;
          storage_key: string;
          storage_backend: string;
        }>`
          select id, unit_id, path, size, sha256, storage_key, storage_backend from (
            select *, ${perUnit} as n from cybernetic.artifacts where unit_id = any(${ids}::uuid[])) s
           where n <= ${sample}`.execute(trx);
        // Notifications belong to the tenant as a whole: audited with the root.
        const notifications =
          top.parent_id === null
            ? await trx
                .selectFrom("notifications")
                .select(["id", "channel", "status", "attempts", "updated_at", "last_error"])
                .where("status", "in", ["pending", "sending"])
                .where("updated_at", "<", stuckBefore)
                .orderBy(sql`random()`)
                .limit(sample)
                .execute()
            : [];
        return { top, units, episodes, states, policies, artifacts, notifications };
      },
      { readOnly: true },
    );

  return {
    async run(tenantId, raw = {}, runOptions = {}) {
      const input = parseInput(runAuditSchema, raw, "audit");
      const trigger = runOptions.trigger ?? "manual";
      const startedAt = clock();
      const now = startedAt.getTime();
      const seen = await gather(tenantId, input.unitId, input.sample, startedAt);
      const root = seen.units.find((u) => u.parent_id === null) ?? seen.top;
      const found: Found[] = [];

      for (const e of seen.episodes) {
        const stuck = now - e.updated_at.getTime();
        found.push({
          unitId: e.unit_id,
          check: "stuck_episode",
          severity: stuck >= STUCK_SEVERE_MS ? "severe" : "warning",
          subject: { kind: "episode", id: e.id },
          message: `episode "${e.title.slice(0, 100)}" has been analysing for ${ago(stuck)}`,
          details: { since: iso(e.updated_at) },
        });
      }
      const unitsById = new Map<string, UnitRow>(seen.units.map((u) => [u.id, u]));
      for (const s of seen.states) {
        const interval = unitsById.get(s.unit_id)?.state_interval_seconds ?? 0;
        found.push({
          unitId: s.unit_id,
          check: "stale_state",
          severity: "warning",
          subject: { kind: "system_state", system: s.system },
          message: `S${s.system}'s state was last updated ${ago(now - s.updated_at.getTime())} ago; the unit expects an update every ${interval} s`,
          details: { version: s.version, updatedAt: iso(s.updated_at), expectedSeconds: interval },
        });
      }
      for (const p of seen.policies) {
        found.push({
          unitId: p.unit_id,
          check: "policy_errors",
          severity: "warning",
          subject: { kind: "policy", id: p.id },
          message: `policy "${p.name.slice(0, 100)}" could not be evaluated ${p.errors + p.failed} times in the last 24 hours`,
          details: { errors: p.errors, failed: p.failed, lastAt: iso(p.last_at) },
        });
      }

      // Phase 2, outside any transaction: read the sampled artifacts back and compare.
      const storage = options.storage;
      let artifactBytes = 0;
      let artifactsChecked = 0;
      let artifactsSkipped = 0;
      for (const a of seen.artifacts) {
        const recorded = { size: Number(a.size), sha256: a.sha256 };
        if (
          !storage ||
          storage.driver !== a.storage_backend ||
          artifactBytes + recorded.size > maxArtifactBytes
        ) {
          artifactsSkipped++;
          continue;
        }
        artifactBytes += recorded.size;
        artifactsChecked++;
        const subject = { kind: "artifact", id: a.id, path: a.path };
        try {
          const stored = await digest(storage, a.storage_key);
          if (stored.size !== recorded.size || stored.sha256 !== recorded.sha256) {
            found.push({
              unitId: a.unit_id,
              check: "artifact_mismatch",
              severity: "severe",
              subject,
              message: `artifact "${a.path.slice(0, 200)}" no longer matches what was stored: ${
                stored.size === recorded.size
                  ? "same size, different SHA-256"
                  : `${stored.size} bytes on storage, ${recorded.size} recorded`
              }`,
              details: { recorded, stored },
            });
          }
        } catch (error) {
          const missing = StorageError.isInstance(error) && error.code === "not_found";
          // The adapter could not make sense of what is stored (the local adapter's object file, mangled).
          const corrupt =
            StorageError.isInstance(error) &&
            (error.details as { reason?: unknown } | undefined)?.reason === "corrupt_object";
          const path = a.path.slice(0, 200);
          found.push({
            unitId: a.unit_id,
            check: "artifact_mismatch",
            severity: missing || corrupt ? "severe" : "warning",
            subject,
            message: missing
              ? `artifact "${path}" is recorded but its bytes are gone from storage`
              : corrupt
                ? `artifact "${path}" is stored in a form storage can no longer read (corrupt)`
                : `artifact "${path}" could not be read back: ${error instanceof Error ? error.message.slice(0, 200) : String(error)}`,
            details: { recorded },
          });
        }
      }
      for (const n of seen.notifications) {
        const stuck = now - n.updated_at.getTime();
        found.push({
          unitId: root.id,
          check: "stuck_notification",
          severity: stuck >= STUCK_SEVERE_MS ? "severe" : "warning",
          subject: { kind: "notification", id: n.id },
          message: `a ${n.channel} notification has been ${n.status} for ${ago(stuck)} (${n.attempts} attempts)`,
          details: { status: n.status, attempts: n.attempts, lastError: n.last_error },
        });
      }

      const stored = found.slice(0, MAX_FINDINGS);
      const bySeverity = { info: 0, warning: 0, severe: 0 };
      for (const f of stored) bySeverity[f.severity]++;
      const summary: JsonObject = {
        units: seen.units.length,
        sample: input.sample,
        sampled: {
          episodes: seen.episodes.length,
          states: seen.states.length,
          policies: seen.policies.length,
          artifacts: artifactsChecked,
          notifications: seen.notifications.length,
        },
        artifactsSkipped,
        ...(storage ? {} : { artifactCheck: "skipped: no storage adapter" }),
        findings: { ...bySeverity, total: stored.length, dropped: found.length - stored.length },
      };

      // Phase 3: the audit, whole, in one transaction.
      return withTenant(db, tenantId, async (trx) => {
        const audit = await trx
          .insertInto("audits")
          .values({
            tenant_id: tenantId,
            unit_id: seen.top.id,
            trigger,
            started_at: startedAt,
            finished_at: clock(),
            summary: JSON.stringify(summary),
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        const findings =
          stored.length === 0
            ? []
            : await trx
                .insertInto("audit_findings")
                .values(
                  stored.map((f) => ({
                    tenant_id: tenantId,
                    audit_id: audit.id,
                    unit_id: f.unitId,
                    check_name: f.check,
                    severity: f.severity,
                    subject: JSON.stringify(f.subject),
                    message: f.message.slice(0, 2000),
                    details: JSON.stringify(f.details),
                  })),
                )
                .returningAll()
                .execute();
        for (const f of findings) {
          await appendEvent(trx, tenantId, "audit.finding", {
            auditId: audit.id,
            findingId: f.id,
            unitId: f.unit_id,
            check: f.check_name,
            severity: f.severity as FindingSeverity,
            message: f.message,
          });
          if (f.severity === "severe") {
            await raiseAlertIn(
              trx,
              tenantId,
              {
                severity: "pain",
                message: `S3* audit: ${f.message}`,
                source: { kind: "audit", auditId: audit.id, findingId: f.id, check: f.check_name },
                key: `audit:${audit.id}:${f.id}`,
                unitId: f.unit_id,
              },
              { ...(options.queue ? { queue: options.queue } : {}), clock },
            );
          }
        }
        await appendEvent(trx, tenantId, "audit.completed", {
          auditId: audit.id,
          unitId: audit.unit_id,
          trigger,
          findings: findings.length,
          severe: bySeverity.severe,
        });
        return { ...toSummary(audit), findings: findings.map(toFinding).sort(byImportance) };
      });
    },

    async get(tenantId, id) {
      const auditId = assertUuid(id, "id");
      return withTenant(
        db,
        tenantId,
        async (trx) => {
          const audit = await trx
            .selectFrom("audits")
            .selectAll()
            .where("id", "=", auditId)
            .executeTakeFirst();
          if (!audit) throw notFound("audit", auditId);
          const findings = await trx
            .selectFrom("audit_findings")
            .selectAll()
            .where("audit_id", "=", auditId)
            .orderBy(sql`case severity when 'severe' then 0 when 'warning' then 1 else 2 end`)
            .orderBy("check_name")
            .orderBy("id")
            .execute();
          return { ...toSummary(audit), findings: findings.map(toFinding) };
        },
        { readOnly: true },
      );
    },

    async list(tenantId, raw = {}) {
      const input = parseInput(listAuditsSchema, raw, "query");
      const after =
        input.cursor === undefined
          ? undefined
          : decodeCursor<[string, string]>(input.cursor, [isIsoTimestamp, isUuidString]);
      const rows = await withTenant(
        db,
        tenantId,
        (trx) => {
          let q = trx
            .selectFrom("audits")
            .selectAll()
            .select(
              sql<string>`to_char(started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as("c"),
            )
            .orderBy("started_at", "desc")
            .orderBy("id", "desc")
            .limit(input.limit + 1);
          if (after) {
            const [startedAt, id] = after;
            q = q.where(sql<boolean>`(started_at, id) < (${startedAt}::timestamptz, ${id}::uuid)`);
          }
          return q.execute();
        },
        { readOnly: true },
      );
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      return rows.length > input.limit && last
        ? { items: page.map(toSummary), nextCursor: encodeCursor([last.c, last.id]) }
        : { items: page.map(toSummary) };
    },

    async latestFindingsIn(trx, unitIds) {
      const out = new Map<string, AuditFinding[]>();
      if (unitIds.length === 0) return out;
      // For each unit, the findings of the latest audit that looked at it.
      const { rows } = await sql<Selectable<AuditFindingsTable>>`
        select f.* from cybernetic.audit_findings f
         where f.unit_id = any(${[...unitIds]}::uuid[])
           and f.audit_id = (
             select a.id from cybernetic.audits a join cybernetic.units top on top.id = a.unit_id
              join cybernetic.units u on u.id = f.unit_id
              where u.path @> array[top.id]
              order by a.started_at desc, a.id desc limit 1)
         order by f.created_at, f.id
         limit 5000`.execute(trx);
      for (const row of rows) {
        const list = out.get(row.unit_id) ?? [];
        list.push(toFinding(row));
        out.set(row.unit_id, list);
      }
      return out;
    },
  };
}
