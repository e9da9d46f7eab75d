import { type Selectable, sql } from "kysely";
import { type Clock, systemClock } from "../clock.js";
import type { Page } from "../contract/common.js";
import {
  createIndicatorSchema,
  type Indicator,
  listReadingsSchema,
  type Reading,
  type RecordedReadings,
  recordReadingsSchema,
  updateIndicatorSchema,
} from "../contract/indicators.js";
import type { Db } from "../database.js";
import { CyberneticError, notFound, validationError } from "../errors.js";
import { appendEvent } from "../events/append-event.js";
import {
  DEFAULT_DETECTOR,
  type DetectorParameters,
  type DetectorState,
  detectChange,
  INITIAL_DETECTOR_STATE,
} from "../indicators/change-detector.js";
import { decodeCursor, encodeCursor, isIsoTimestamp } from "../internal/cursor.js";
import { mapPgError } from "../internal/pg-errors.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { JobQueue } from "../jobs.js";
import type { IndicatorReadingsTable, IndicatorsTable, JsonObject } from "../schema.js";
import { assertUuid, type TenantTransaction, withTenant } from "../tenant-context.js";
import { raiseAlertIn } from "./alerts.js";
import { unitIn } from "./unit-records.js";

/** The most indicators one unit may declare. */
export const MAX_INDICATORS_PER_UNIT = 200;

/** A reading to record: actuality at a moment. */
export interface ReadingInput {
  at: Date;
  actuality: number;
}

/**
 * Beer's triple index per unit: indicators with capability and potentiality that change over time,
 * readings of actuality, and for each reading productivity = actuality / capability, latency =
 * capability / potentiality and performance = actuality / potentiality, with a smoothed series and a
 * change detector (see `change-detector.ts`). A significant fall raises an algedonic alert at the unit.
 */
export interface IndicatorService {
  /**
   * Declares an indicator on a unit; its first targets are in effect from the beginning of time.
   *
   * @example
   * ```ts
   * await platform.indicators.create(tenantId, line.id, {
   *   name: "bottles per hour", unitOfMeasure: "bottles/h", capability: 900, potentiality: 1200,
   * });
   * ```
   * @throws CyberneticError `duplicate` (a unit's indicator names are unique), `conflict` (200 per unit).
   */
  create(tenantId: string, unitId: string, input: unknown): Promise<Indicator>;
  /** A unit's indicators, by name. */
  list(tenantId: string, unitId: string): Promise<Indicator[]>;
  /** One indicator of a unit; `not_found` for another unit's or tenant's. */
  get(tenantId: string, unitId: string, id: string): Promise<Indicator>;
  /** Renames an indicator, or gives it new targets effective from a moment (default now). */
  update(tenantId: string, unitId: string, id: string, input: unknown): Promise<Indicator>;
  /**
   * Records a batch of readings (`{ readings: [{ at, actuality }] }`, at most 1000), in time order after
   * the latest one. Idempotent by timestamp: a reading already recorded with the same value is skipped;
   * with another value it is a `conflict`.
   */
  record(tenantId: string, unitId: string, id: string, input: unknown): Promise<RecordedReadings>;
  /** As `record`, inside an existing transaction (policy actions). */
  recordIn(
    trx: TenantTransaction,
    tenantId: string,
    id: string,
    readings: readonly ReadingInput[],
  ): Promise<RecordedReadings>;
  /** The series in time order, for plotting; `from`/`to` bound it, pages of up to 1000. */
  readings(tenantId: string, unitId: string, id: string, input?: unknown): Promise<Page<Reading>>;
}

/** Options of `createIndicatorService`. */
export interface IndicatorServiceOptions {
  queue?: JobQueue;
  clock?: Clock;
}

type IndicatorRow = Selectable<IndicatorsTable>;
type ReadingRow = Selectable<IndicatorReadingsTable>;

/** The first targets' start: readings are from 1970 on. */
const BEGINNING = new Date(0);

const ratio = (a: number, b: number) => (b === 0 ? 0 : a / b);

function toReading(row: ReadingRow): Reading {
  return {
    at: iso(row.at),
    actuality: row.actuality,
    capability: row.capability,
    potentiality: row.potentiality,
    productivity: row.productivity,
    latency: row.latency,
    performance: row.performance,
    smoothed: {
      actuality: row.smoothed,
      productivity: ratio(row.smoothed, row.capability),
      performance: ratio(row.smoothed, row.potentiality),
    },
    forecast: row.forecast,
    lower: row.lower,
    upper: row.upper,
    status: row.status as Reading["status"],
    direction: row.direction as Reading["direction"],
  };
}

const paramsOf = (row: IndicatorRow): DetectorParameters => ({
  ...DEFAULT_DETECTOR,
  ...(row.detector as Partial<DetectorParameters>),
});

function stateOf(row: IndicatorRow): DetectorState {
  const raw = row.detector_state as Partial<DetectorState>;
  return typeof raw.n === "number" ? (raw as DetectorState) : INITIAL_DETECTOR_STATE;
}

async function toIndicator(trx: TenantTransaction, row: IndicatorRow): Promise<Indicator> {
  const targets = await trx
    .selectFrom("indicator_targets")
    .select(["effective_from", "capability", "potentiality"])
    .where("indicator_id", "=", row.id)
    .orderBy("effective_from")
    .limit(1000)
    .execute();
  const latest =
    row.latest_at === null
      ? undefined
      : await trx
          .selectFrom("indicator_readings")
          .selectAll()
          .where("indicator_id", "=", row.id)
          .where("at", "=", row.latest_at)
          .executeTakeFirst();
  const current = targets.at(-1);
  return {
    id: row.id,
    unitId: row.unit_id,
    name: row.name,
    unitOfMeasure: row.unit_of_measure,
    capability: current?.capability ?? 0,
    potentiality: current?.potentiality ?? 0,
    targets: targets.map((t) => ({
      effectiveFrom: iso(t.effective_from),
      capability: t.capability,
      potentiality: t.potentiality,
    })),
    detector: paramsOf(row),
    latest: latest ? toReading(latest) : null,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

const nameTaken = (name: string) => ({
  indicators_tenant_id_unit_id_name_key: `the unit already has an indicator named "${name}"`,
});
const round = (v: number) => Number(v.toPrecision(6));

/** Creates the indicator service. */
export function createIndicatorService(db: Db, options: IndicatorServiceOptions = {}): IndicatorService {
  const clock = options.clock ?? systemClock;

  /** The indicator, checked to belong to the unit (so a URL cannot mix one unit with another's indicator). */
  const indicatorIn = async (trx: TenantTransaction, unitId: string, id: string, forUpdate = false) => {
    const unit = await unitIn(trx, unitId);
    let q = trx
      .selectFrom("indicators")
      .selectAll()
      .where("id", "=", assertUuid(id, "indicatorId"))
      .where("unit_id", "=", unit.id);
    if (forUpdate) q = q.forUpdate();
    const row = await q.executeTakeFirst();
    if (!row) throw notFound("indicator", id);
    return row;
  };

  const recordIn: IndicatorService["recordIn"] = async (trx, tenantId, id, input) => {
    const indicator = await trx
      .selectFrom("indicators")
      .selectAll()
      .where("id", "=", assertUuid(id, "indicatorId"))
      .forUpdate()
      .executeTakeFirst();
    if (!indicator) throw notFound("indicator", id);
    // One reading per moment: sort, and refuse one batch giving two values for one moment.
    const byTime = new Map<number, number>();
    for (const r of input) {
      const t = r.at.getTime();
      const seen = byTime.get(t);
      if (seen !== undefined && seen !== r.actuality) {
        throw validationError(`two readings at ${r.at.toISOString()} with different actualities`, [
          { path: "readings", message: `two values at ${r.at.toISOString()}` },
        ]);
      }
      byTime.set(t, r.actuality);
    }
    const batch = [...byTime.entries()].sort((a, b) => a[0] - b[0]);
    const existing = await trx
      .selectFrom("indicator_readings")
      .select(["at", "actuality"])
      .where("indicator_id", "=", indicator.id)
      .where(
        "at",
        "in",
        batch.map(([t]) => new Date(t)),
      )
      .execute();
    const recorded = new Map(existing.map((r) => [r.at.getTime(), r.actuality]));
    let duplicates = 0;
    const fresh: [number, number][] = [];
    for (const [t, actuality] of batch) {
      const before = recorded.get(t);
      if (before === undefined) fresh.push([t, actuality]);
      else if (before === actuality) duplicates++;
      else {
        throw new CyberneticError(
          "conflict",
          `a reading at ${new Date(t).toISOString()} is recorded already, with actuality ${before}`,
          { details: { reason: "reading_exists", at: new Date(t).toISOString(), actuality: before } },
        );
      }
    }
    const first = fresh[0];
    if (first && indicator.latest_at !== null && first[0] <= indicator.latest_at.getTime()) {
      throw new CyberneticError(
        "conflict",
        `readings must be newer than the latest one (${indicator.latest_at.toISOString()}); ${new Date(first[0]).toISOString()} is not`,
        { details: { reason: "out_of_order", latestAt: indicator.latest_at.toISOString() } },
      );
    }
    if (fresh.length === 0) return { recorded: [], duplicates, changes: 0 };

    const targets = await trx
      .selectFrom("indicator_targets")
      .select(["effective_from", "capability", "potentiality"])
      .where("indicator_id", "=", indicator.id)
      .orderBy("effective_from")
      .execute();
    const targetAt = (t: number) => {
      let current = targets[0];
      for (const target of targets) if (target.effective_from.getTime() <= t) current = target;
      return current ?? { capability: 1, potentiality: 1 };
    };
    const params = paramsOf(indicator);
    let state = stateOf(indicator);
    const rows = fresh.map(([t, actuality]) => {
      const { capability, potentiality } = targetAt(t);
      const { step, next } = detectChange(state, actuality, params);
      state = next;
      return {
        tenant_id: tenantId,
        indicator_id: indicator.id,
        at: new Date(t),
        actuality,
        capability,
        potentiality,
        productivity: ratio(actuality, capability),
        latency: ratio(capability, potentiality),
        performance: ratio(actuality, potentiality),
        smoothed: step.smoothed,
        forecast: step.forecast,
        lower: step.lower,
        upper: step.upper,
        status: step.status,
        direction: step.status === "change" ? step.direction : null,
      };
    });
    const inserted: ReadingRow[] = [];
    for (let i = 0; i < rows.length; i += 500) {
      inserted.push(
        ...(await trx
          .insertInto("indicator_readings")
          .values(rows.slice(i, i + 500))
          .returningAll()
          .execute()),
      );
    }
    const last = rows.at(-1) as (typeof rows)[number];
    await trx
      .updateTable("indicators")
      .set({
        detector_state: JSON.stringify(state),
        latest_at: last.at,
        updated_at: sql<Date>`now()`,
      })
      .where("id", "=", indicator.id)
      .execute();
    await appendEvent(trx, tenantId, "indicator.readings_recorded", {
      indicatorId: indicator.id,
      unitId: indicator.unit_id,
      recorded: rows.length,
      latestAt: last.at.toISOString(),
      actuality: last.actuality,
      productivity: last.productivity,
      latency: last.latency,
      performance: last.performance,
    });
    let changes = 0;
    for (const row of rows) {
      if (row.status !== "change" || row.direction === null) continue;
      changes++;
      const change = {
        indicatorId: indicator.id,
        unitId: indicator.unit_id,
        at: row.at.toISOString(),
        direction: row.direction,
        actuality: row.actuality,
        forecast: row.forecast ?? 0,
        lower: row.lower ?? 0,
        upper: row.upper ?? 0,
      };
      await appendEvent(trx, tenantId, "indicator.change_detected", change);
      if (row.direction === "down") {
        await raiseAlertIn(
          trx,
          tenantId,
          {
            severity: "pain",
            message: `"${indicator.name}" fell significantly: ${round(row.actuality)}${indicator.unit_of_measure ? ` ${indicator.unit_of_measure}` : ""} against a forecast of ${round(change.forecast)} (band ${round(change.lower)}–${round(change.upper)})`,
            source: { kind: "indicator", indicatorId: indicator.id, at: change.at } as JsonObject,
            key: `indicator:${indicator.id}:${change.at}`,
            unitId: indicator.unit_id,
          },
          { ...(options.queue ? { queue: options.queue } : {}), clock },
        );
      }
    }
    return {
      recorded: inserted.sort((a, b) => a.at.getTime() - b.at.getTime()).map(toReading),
      duplicates,
      changes,
    };
  };

  return {
    async create(tenantId, unitId, raw) {
      const input = parseInput(createIndicatorSchema, raw, "indicator");
      return withTenant(db, tenantId, async (trx) => {
        const unit = await unitIn(trx, unitId);
        const { n } = await trx
          .selectFrom("indicators")
          .select((eb) => eb.fn.countAll<string>().as("n"))
          .where("unit_id", "=", unit.id)
          .executeTakeFirstOrThrow();
        if (Number(n) >= MAX_INDICATORS_PER_UNIT) {
          throw new CyberneticError(
            "conflict",
            `a unit may have at most ${MAX_INDICATORS_PER_UNIT} indicators`,
            {
              details: { reason: "max_indicators" },
            },
          );
        }
        const row = await trx
          .insertInto("indicators")
          .values({
            tenant_id: tenantId,
            unit_id: unit.id,
            name: input.name,
            unit_of_measure: input.unitOfMeasure,
            detector: JSON.stringify(input.detector),
          })
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((e: unknown) => {
            throw mapPgError(e, nameTaken(input.name));
          });
        await trx
          .insertInto("indicator_targets")
          .values({
            tenant_id: tenantId,
            indicator_id: row.id,
            effective_from: BEGINNING,
            capability: input.capability,
            potentiality: input.potentiality,
          })
          .execute();
        await appendEvent(trx, tenantId, "indicator.created", {
          indicatorId: row.id,
          unitId: unit.id,
          name: row.name,
        });
        return toIndicator(trx, row);
      });
    },

    list: (tenantId, unitId) =>
      withTenant(
        db,
        tenantId,
        async (trx) => {
          const unit = await unitIn(trx, unitId);
          const rows = await trx
            .selectFrom("indicators")
            .selectAll()
            .where("unit_id", "=", unit.id)
            .orderBy("name")
            .limit(MAX_INDICATORS_PER_UNIT)
            .execute();
          const out: Indicator[] = [];
          for (const row of rows) out.push(await toIndicator(trx, row));
          return out;
        },
        { readOnly: true },
      ),

    get: (tenantId, unitId, id) =>
      withTenant(db, tenantId, async (trx) => toIndicator(trx, await indicatorIn(trx, unitId, id)), {
        readOnly: true,
      }),

    async update(tenantId, unitId, id, raw) {
      const input = parseInput(updateIndicatorSchema, raw, "indicator update");
      return withTenant(db, tenantId, async (trx) => {
        const current = await indicatorIn(trx, unitId, id, true);
        const row = await trx
          .updateTable("indicators")
          .set({
            ...(input.name === undefined ? {} : { name: input.name }),
            ...(input.unitOfMeasure === undefined ? {} : { unit_of_measure: input.unitOfMeasure }),
            updated_at: sql<Date>`now()`,
          })
          .where("id", "=", current.id)
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((e: unknown) => {
            throw mapPgError(e, nameTaken(input.name ?? current.name));
          });
        let effectiveFrom: string | null = null;
        if (input.capability !== undefined && input.potentiality !== undefined) {
          const from = input.effectiveFrom === undefined ? clock() : new Date(input.effectiveFrom);
          effectiveFrom = from.toISOString();
          await trx
            .insertInto("indicator_targets")
            .values({
              tenant_id: tenantId,
              indicator_id: current.id,
              effective_from: from,
              capability: input.capability,
              potentiality: input.potentiality,
            })
            .execute()
            .catch((e: unknown) => {
              throw mapPgError(e, {
                indicator_targets_pkey: `targets effective from ${effectiveFrom} exist already`,
              });
            });
        }
        const indicator = await toIndicator(trx, row);
        await appendEvent(trx, tenantId, "indicator.updated", {
          indicatorId: row.id,
          unitId: row.unit_id,
          capability: indicator.capability,
          potentiality: indicator.potentiality,
          effectiveFrom,
        });
        return indicator;
      });
    },

    async record(tenantId, unitId, id, raw) {
      const input = parseInput(recordReadingsSchema, raw, "readings");
      return withTenant(db, tenantId, async (trx) => {
        const indicator = await indicatorIn(trx, unitId, id);
        return recordIn(
          trx,
          tenantId,
          indicator.id,
          input.readings.map((r) => ({ at: new Date(r.at), actuality: r.actuality })),
        );
      });
    },

    recordIn,

    async readings(tenantId, unitId, id, raw = {}) {
      const input = parseInput(listReadingsSchema, raw, "query");
      const after =
        input.cursor === undefined ? undefined : decodeCursor<[string]>(input.cursor, [isIsoTimestamp])[0];
      const rows = await withTenant(
        db,
        tenantId,
        async (trx) => {
          const indicator = await indicatorIn(trx, unitId, id);
          let q = trx
            .selectFrom("indicator_readings")
            .selectAll()
            .select(sql<string>`to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as("c"))
            .where("indicator_id", "=", indicator.id)
            .orderBy("at")
            .limit(input.limit + 1);
          if (input.from !== undefined) q = q.where("at", ">=", new Date(input.from));
          if (input.to !== undefined) q = q.where("at", "<=", new Date(input.to));
          if (after !== undefined) q = q.where("at", ">", sql<Date>`${after}::timestamptz`);
          return q.execute();
        },
        { readOnly: true },
      );
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      return rows.length > input.limit && last
        ? { items: page.map(toReading), nextCursor: encodeCursor([last.c]) }
        : { items: page.map(toReading) };
    },
  };
}
