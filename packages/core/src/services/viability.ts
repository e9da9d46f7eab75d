import { sql } from "kysely";
import { type Clock, systemClock } from "../clock.js";
import { type SystemNumber, systemNames } from "../contract/common.js";
import {
  type SystemViability,
  type UnitViability,
  VIABILITY_WINDOW_DAYS,
  type Viability,
} from "../contract/viability.js";
import type { Db } from "../database.js";
import { iso } from "../internal/time.js";
import { withTenant } from "../tenant-context.js";
import { alertChannels } from "./alert-channels.js";
import { toAlert } from "./alerts.js";
import type { AuditService } from "./audits.js";
import { dampingOf } from "./policy-damping.js";
import { depthFirst, unitIn } from "./unit-records.js";

/**
 * Viability at a glance: for a unit and each unit below it, whether each of S1..S5 is present and alive,
 * with the reason for each gap in plain words, its open alerts and its latest audit findings.
 *
 * What each system needs (activity: within the last `VIABILITY_WINDOW_DAYS` days):
 * - S1 operations — present: indicators, episodes or units below it; alive: an episode or a reading.
 * - S2 coordination — present: a damped policy (`for` / `cooldown`) governs it (its own or an
 *   ancestor's); alive: one of them evaluated an event.
 * - S3 control — present: indicators declaring capability and potentiality; alive: an S3* audit looked.
 * - S4 intelligence — present: episodes; alive: one was analysed.
 * - S5 policy — present: an active policy governs it; alive: an alert channel on it or above it, so an
 *   algedonic signal reaches someone.
 * A system whose state someone set (version > 1) counts as present whatever else it has.
 */
export interface ViabilityService {
  /**
   * @example
   * ```ts
   * const { units } = await platform.viability.of(tenantId, plant.id);
   * for (const u of units) if (!u.viable) console.log(u.unit.slug, u.systems.flatMap((s) => s.gaps));
   * ```
   */
  of(tenantId: string, unitId?: string): Promise<Viability>;
}

const days = (n: number) => `${n} day${n === 1 ? "" : "s"}`;

/** Creates the viability service. */
export function createViabilityService(
  db: Db,
  audits: AuditService,
  options: { clock?: Clock } = {},
): ViabilityService {
  const clock = options.clock ?? systemClock;
  return {
    of: (tenantId, unitId) =>
      withTenant(
        db,
        tenantId,
        async (trx) => {
          const now = clock();
          const since = new Date(now.getTime() - VIABILITY_WINDOW_DAYS * 86_400_000);
          const top =
            unitId === undefined
              ? await trx
                  .selectFrom("units")
                  .selectAll()
                  .where("parent_id", "is", null)
                  .executeTakeFirstOrThrow()
              : await unitIn(trx, unitId);
          const all = await trx
            .selectFrom("units")
            .selectAll()
            .where("archived_at", "is", null)
            .limit(1000)
            .execute();
          const byId = new Map(all.map((u) => [u.id, u]));
          const units = depthFirst(all.filter((u) => u.path.includes(top.id)));
          const ids = units.map((u) => u.id);
          const tenant = await trx.selectFrom("tenants").select("settings").executeTakeFirst();

          const states = await trx
            .selectFrom("system_states")
            .select(["unit_id", "system", "version", "updated_at"])
            .where("unit_id", "in", ids)
            .execute();
          const { rows: episodes } = await sql<{
            unit_id: string;
            n: string;
            last_at: Date;
            analysed_at: Date | null;
          }>`
            select unit_id, count(*) as n, max(created_at) as last_at, max(analyzed_at) as analysed_at
              from cybernetic.episodes where unit_id = any(${ids}::uuid[]) group by unit_id`.execute(trx);
          const { rows: indicators } = await sql<{ unit_id: string; n: string; last_at: Date | null }>`
            select unit_id, count(*) as n, max(latest_at) as last_at
              from cybernetic.indicators where unit_id = any(${ids}::uuid[]) group by unit_id`.execute(trx);
          const policies = await trx
            .selectFrom("policies")
            .select(["id", "unit_id", "rules", "name"])
            .where("active", "=", true)
            .where((eb) => eb.or([eb("effective_from", "is", null), eb("effective_from", "<=", now)]))
            .where((eb) => eb.or([eb("effective_until", "is", null), eb("effective_until", ">", now)]))
            .limit(1000)
            .execute();
          const damped = policies.filter((p) => dampingOf(p.rules) !== undefined);
          const { rows: dampedActivity } =
            damped.length === 0
              ? { rows: [] }
              : await sql<{ policy_id: string }>`
                  select distinct policy_id from cybernetic.policy_evaluations
                   where policy_id = any(${damped.map((p) => p.id)}::uuid[]) and evaluated_at >= ${since}`.execute(
                  trx,
                );
          const activeDamped = new Set(dampedActivity.map((r) => r.policy_id));
          const { rows: recentAudits } = await sql<{ unit_id: string; last_at: Date }>`
            select unit_id, max(started_at) as last_at from cybernetic.audits
             where started_at >= ${since} group by unit_id`.execute(trx);
          const alerts = await trx
            .selectFrom("alerts")
            .selectAll()
            .where("level_unit_id", "in", ids)
            .where("status", "in", ["raised", "acknowledged"])
            .orderBy("raised_at", "desc")
            .limit(1000)
            .execute();
          const findings = await audits.latestFindingsIn(trx, ids);

          const episodesOf = new Map(episodes.map((e) => [e.unit_id, e]));
          const indicatorsOf = new Map(indicators.map((i) => [i.unit_id, i]));
          const auditOf = new Map(recentAudits.map((a) => [a.unit_id, a.last_at]));
          const channelsOf = (id: string) => {
            const unit = byId.get(id);
            if (!unit) return 0;
            const own = alertChannels({ alerts: unit.alerts }).length;
            return unit.parent_id === null ? own + alertChannels(tenant?.settings ?? {}).length : own;
          };

          const report = (unit: (typeof units)[number]): UnitViability => {
            const stateOf = (system: number) =>
              states.find((s) => s.unit_id === unit.id && s.system === system);
            const set = (system: number) => (stateOf(system)?.version ?? 1) > 1;
            const governing = policies.filter((p) => unit.path.includes(p.unit_id));
            const dampers = governing.filter((p) => damped.includes(p));
            const ep = episodesOf.get(unit.id);
            const ind = indicatorsOf.get(unit.id);
            const children = all.filter((u) => u.parent_id === unit.id).length;
            const lastAudit = unit.path
              .map((id) => auditOf.get(id))
              .filter((d): d is Date => d !== undefined)
              .sort((a, b) => b.getTime() - a.getTime())[0];
            const reachable = unit.path.reduce((n, id) => n + channelsOf(id), 0);
            const recent = (d: Date | null | undefined) => d !== null && d !== undefined && d >= since;

            const system = (
              n: SystemNumber,
              present: boolean,
              alive: boolean,
              absent: string,
              dormant: string,
              evidence: Record<string, unknown>,
            ): SystemViability => {
              const state = stateOf(n);
              const isPresent = present || set(n);
              const isAlive = isPresent && alive;
              const gaps = [...(isPresent ? [] : [absent]), ...(isPresent && !alive ? [dormant] : [])];
              return {
                system: n,
                name: systemNames[n],
                present: isPresent,
                alive: isAlive,
                gaps,
                evidence: {
                  ...evidence,
                  state: state ? { version: state.version, updatedAt: iso(state.updated_at) } : null,
                },
              };
            };
            const window = days(VIABILITY_WINDOW_DAYS);
            const systems = [
              system(
                1,
                Number(ind?.n ?? 0) > 0 || Number(ep?.n ?? 0) > 0 || children > 0,
                recent(ep?.last_at) || recent(ind?.last_at),
                "S1: no operations recorded here: no indicators, no episodes and no units below it",
                `S1: nothing happened in the last ${window}: no episode and no indicator reading`,
                {
                  indicators: Number(ind?.n ?? 0),
                  episodes: Number(ep?.n ?? 0),
                  unitsBelow: children,
                  lastEpisodeAt: ep ? iso(ep.last_at) : null,
                  lastReadingAt: ind?.last_at ? iso(ind.last_at) : null,
                },
              ),
              system(
                2,
                dampers.length > 0,
                dampers.some((p) => activeDamped.has(p.id)),
                "S2: no policy with `for` or `cooldown` damps oscillation here",
                `S2: its damping policies evaluated no event in the last ${window}`,
                { dampingPolicies: dampers.map((p) => p.id) },
              ),
              system(
                3,
                Number(ind?.n ?? 0) > 0,
                recent(lastAudit),
                "S3: no indicator declares capability and potentiality here",
                `S3: no S3* audit looked at it in the last ${window}`,
                { indicators: Number(ind?.n ?? 0), lastAuditAt: lastAudit ? iso(lastAudit) : null },
              ),
              system(
                4,
                Number(ep?.n ?? 0) > 0,
                recent(ep?.analysed_at),
                "S4: no episodes: nothing from the environment is recorded here",
                `S4: no episode was analysed in the last ${window}`,
                {
                  episodes: Number(ep?.n ?? 0),
                  lastAnalysedAt: ep?.analysed_at ? iso(ep.analysed_at) : null,
                },
              ),
              system(
                5,
                governing.length > 0,
                reachable > 0,
                "S5: no active policy governs it (its own or one of a unit above it)",
                "S5: no alert channel on it or above it: an algedonic signal would reach nobody",
                { policies: governing.length, alertChannels: reachable },
              ),
            ];
            return {
              unit: {
                id: unit.id,
                parentId: unit.parent_id,
                name: unit.name,
                slug: unit.slug,
                depth: unit.depth,
              },
              viable: systems.every((s) => s.present && s.alive),
              systems,
              openAlerts: alerts
                .filter((a) => a.level_unit_id === unit.id)
                .slice(0, 20)
                .map(toAlert),
              latestFindings: findings.get(unit.id) ?? [],
            };
          };
          return {
            unitId: top.id,
            at: now.toISOString(),
            windowDays: VIABILITY_WINDOW_DAYS,
            units: units.map(report),
          };
        },
        { readOnly: true },
      ),
  };
}
