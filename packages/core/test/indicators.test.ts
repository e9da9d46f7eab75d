/**
 * The triple index on real PostgreSQL: indices computed against hand-worked examples and the targets in
 * effect at each reading's time; readings idempotent by timestamp and in time order; the detector's
 * verdict stored per reading; a significant fall raises an algedonic alert at the unit, one outlier not.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { withTenant } from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

describe("indicators and the triple index", () => {
  const ctx = useTestPlatform();
  const setup = async () => {
    const tenantId = (await seedTenant(ctx.platform)).tenant.id;
    const unit = await ctx.platform.units.create(tenantId, {
      name: "Bottling",
      slug: "bottling",
      alerts: [{ channel: "event", to: "bottling" }],
    });
    const indicator = await ctx.platform.indicators.create(tenantId, unit.id, {
      name: "bottles per hour",
      unitOfMeasure: "bottles/h",
      capability: 80,
      potentiality: 100,
    });
    return { tenantId, unit, indicator };
  };
  const hour = (h: number) => new Date(Date.UTC(2026, 0, 1, h)).toISOString();
  const readings = (values: number[], from = 0) => ({
    readings: values.map((actuality, i) => ({ at: hour(from + i), actuality })),
  });

  it("computes productivity, latency and performance per reading (hand-worked)", async () => {
    const { tenantId, unit, indicator } = await setup();
    expect(indicator).toMatchObject({ capability: 80, potentiality: 100, latest: null, unitId: unit.id });
    const { recorded } = await ctx.platform.indicators.record(
      tenantId,
      unit.id,
      indicator.id,
      readings([60, 80, 100]),
    );
    // 60 against capability 80 and potentiality 100: 60/80 = 0.75, 80/100 = 0.8, 60/100 = 0.6 = 0.75 × 0.8.
    expect(recorded.map((r) => [r.actuality, r.productivity, r.latency, r.performance])).toEqual([
      [60, 0.75, 0.8, 0.6],
      [80, 1, 0.8, 0.8],
      [100, 1.25, 0.8, 1],
    ]);
    // During the warm-up the smoothed level is the running mean: 60, 70, 80.
    expect(recorded.map((r) => [r.status, r.smoothed.actuality, r.smoothed.productivity])).toEqual([
      ["warmup", 60, 0.75],
      ["warmup", 70, 0.875],
      ["warmup", 80, 1],
    ]);
    expect((await ctx.platform.indicators.get(tenantId, unit.id, indicator.id)).latest).toEqual(recorded[2]);
  });

  it("new targets apply from their moment on; earlier readings keep theirs", async () => {
    const { tenantId, unit, indicator } = await setup();
    await ctx.platform.indicators.record(tenantId, unit.id, indicator.id, readings([60], 0));
    const updated = await ctx.platform.indicators.update(tenantId, unit.id, indicator.id, {
      capability: 90,
      potentiality: 120,
      effectiveFrom: hour(5),
    });
    expect(updated).toMatchObject({ capability: 90, potentiality: 120 });
    expect(updated.targets.map((t) => [t.effectiveFrom, t.capability])).toEqual([
      ["1970-01-01T00:00:00.000Z", 80],
      [hour(5), 90],
    ]);
    const { recorded } = await ctx.platform.indicators.record(tenantId, unit.id, indicator.id, {
      readings: [
        { at: hour(4), actuality: 60 },
        { at: hour(5), actuality: 60 },
      ],
    });
    // 60 under 80/100 at 04:00; 60 under 90/120 at 05:00: 0.6667, 0.75, 0.5.
    expect(recorded.map((r) => [r.capability, r.potentiality, r.performance])).toEqual([
      [80, 100, 0.6],
      [90, 120, 0.5],
    ]);
    expect(recorded[1]?.productivity).toBeCloseTo(2 / 3, 12);
    expect(recorded[1]?.latency).toBe(0.75);
    const series = await ctx.platform.indicators.readings(tenantId, unit.id, indicator.id);
    expect(series.items.map((r) => r.performance)).toEqual([0.6, 0.6, 0.5]);
  });

  it("is idempotent by timestamp and refuses readings older than the latest", async () => {
    const { tenantId, unit, indicator } = await setup();
    const batch = readings([10, 11, 12]);
    expect(
      (await ctx.platform.indicators.record(tenantId, unit.id, indicator.id, batch)).recorded,
    ).toHaveLength(3);
    expect(await ctx.platform.indicators.record(tenantId, unit.id, indicator.id, batch)).toEqual({
      recorded: [],
      duplicates: 3,
      changes: 0,
    });
    await expectError(
      ctx.platform.indicators.record(tenantId, unit.id, indicator.id, {
        readings: [{ at: hour(1), actuality: 99 }],
      }),
      "conflict",
      { message: /recorded already, with actuality 11/ },
    );
    await expectError(
      ctx.platform.indicators.record(tenantId, unit.id, indicator.id, {
        readings: [{ at: new Date(Date.UTC(2025, 11, 31)).toISOString(), actuality: 5 }],
      }),
      "conflict",
      { message: /newer than the latest/ },
    );
    await expectError(
      ctx.platform.indicators.record(tenantId, unit.id, indicator.id, {
        readings: [
          { at: hour(9), actuality: 1 },
          { at: hour(9), actuality: 2 },
        ],
      }),
      "validation_failed",
    );
    // A retried batch that overlaps: the known readings are skipped, the new one recorded.
    const overlap = await ctx.platform.indicators.record(
      tenantId,
      unit.id,
      indicator.id,
      readings([12, 13], 2),
    );
    expect(overlap).toMatchObject({ duplicates: 1, recorded: [{ actuality: 13 }] });
    const events = await withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("events").select("data").where("type", "=", "indicator.readings_recorded").execute(),
    );
    expect(events.map((e) => e.data.recorded)).toEqual([3, 1]);
  });

  it("a significant fall raises a pain alert at the unit; one outlier does not", async () => {
    const { tenantId, unit, indicator } = await setup();
    // Ten steady readings around 80 set the baseline; then one outlier; then a fall to 40.
    const steady = [80, 82, 79, 81, 80, 78, 82, 80, 81, 79];
    await ctx.platform.indicators.record(tenantId, unit.id, indicator.id, readings(steady));
    const outlier = await ctx.platform.indicators.record(
      tenantId,
      unit.id,
      indicator.id,
      readings([20, 80, 81], 10),
    );
    expect(outlier.recorded.map((r) => r.status)).toEqual(["outlier", "in_band", "in_band"]);
    expect(outlier.changes).toBe(0);
    expect((await ctx.platform.alerts.list(tenantId)).items).toEqual([]);
    const fall = await ctx.platform.indicators.record(
      tenantId,
      unit.id,
      indicator.id,
      readings([40, 41, 40], 13),
    );
    expect(fall.recorded.map((r) => [r.status, r.direction])).toEqual([
      ["outlier", null],
      ["change", "down"],
      ["in_band", null],
    ]);
    expect(fall.changes).toBe(1);
    const [alert] = (await ctx.platform.alerts.list(tenantId)).items;
    expect(alert).toMatchObject({
      unitId: unit.id,
      severity: "pain",
      source: { kind: "indicator", at: hour(14) },
    });
    expect(alert?.message).toMatch(
      /"bottles per hour" fell significantly: 41 bottles\/h against a forecast of 8\d/,
    );
    const changes = await withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("events").select("data").where("type", "=", "indicator.change_detected").execute(),
    );
    expect(changes.map((e) => [e.data.direction, e.data.at])).toEqual([["down", hour(14)]]);
    // A rise is a change too, but no pain.
    const rise = await ctx.platform.indicators.record(
      tenantId,
      unit.id,
      indicator.id,
      readings([90, 90], 16),
    );
    expect(rise.recorded.map((r) => r.direction)).toEqual([null, "up"]);
    expect((await ctx.platform.alerts.list(tenantId)).items).toHaveLength(1);
  });

  it("serves the series in time order, page by page and by range", async () => {
    const { tenantId, unit, indicator } = await setup();
    await ctx.platform.indicators.record(tenantId, unit.id, indicator.id, readings([1, 2, 3, 4, 5, 6, 7]));
    const first = await ctx.platform.indicators.readings(tenantId, unit.id, indicator.id, { limit: "3" });
    const second = await ctx.platform.indicators.readings(tenantId, unit.id, indicator.id, {
      limit: "3",
      cursor: first.nextCursor,
    });
    expect([...first.items, ...second.items].map((r) => r.actuality)).toEqual([1, 2, 3, 4, 5, 6]);
    const range = await ctx.platform.indicators.readings(tenantId, unit.id, indicator.id, {
      from: hour(2),
      to: hour(4),
    });
    expect(range.items.map((r) => r.actuality)).toEqual([3, 4, 5]);
  });

  it("names are unique per unit; another unit's or tenant's indicator is not found; bad input names the field", async () => {
    const { tenantId, unit, indicator } = await setup();
    await expectError(
      ctx.platform.indicators.create(tenantId, unit.id, {
        name: "bottles per hour",
        capability: 1,
        potentiality: 1,
      }),
      "duplicate",
    );
    const other = await ctx.platform.units.create(tenantId, { name: "Other", slug: "other" });
    await expect(
      ctx.platform.indicators.create(tenantId, other.id, {
        name: "bottles per hour",
        capability: 1,
        potentiality: 1,
      }),
    ).resolves.toMatchObject({ unitId: other.id });
    await expectError(ctx.platform.indicators.get(tenantId, other.id, indicator.id), "not_found");
    const stranger = (await seedTenant(ctx.platform)).tenant.id;
    await expectError(ctx.platform.indicators.get(stranger, unit.id, indicator.id), "not_found");
    await expectError(ctx.platform.indicators.list(stranger, unit.id), "not_found");
    await expectError(
      ctx.platform.indicators.record(stranger, unit.id, indicator.id, readings([1])),
      "not_found",
    );
    await expectError(ctx.platform.indicators.get(tenantId, unit.id, randomUUID()), "not_found");
    const bad: [unknown, string][] = [
      [{ name: "x", capability: 0, potentiality: 1 }, "capability"],
      [{ name: "x", capability: 2, potentiality: 1 }, "capability"],
      [{ name: "", capability: 1, potentiality: 1 }, "name"],
      [{ name: "x", capability: 1, potentiality: 1, detector: { k: 0 } }, "detector.k"],
      [{ name: "x", capability: 1, potentiality: 1, detector: { magic: 1 } }, "detector"],
    ];
    for (const [input, field] of bad) {
      await expectError(ctx.platform.indicators.create(tenantId, unit.id, input), "validation_failed", {
        field,
      });
    }
    const badReadings: [unknown, string][] = [
      [{ readings: [] }, "readings"],
      [{ readings: [{ at: hour(0), actuality: -1 }] }, "actuality"],
      [{ readings: [{ at: "yesterday", actuality: 1 }] }, "at"],
      [{ readings: Array.from({ length: 1001 }, (_, i) => ({ at: hour(i), actuality: 1 })) }, "readings"],
    ];
    for (const [input, field] of badReadings) {
      await expectError(
        ctx.platform.indicators.record(tenantId, unit.id, indicator.id, input),
        "validation_failed",
        {
          field,
        },
      );
    }
    await expectError(
      ctx.platform.indicators.update(tenantId, unit.id, indicator.id, { capability: 5 }),
      "validation_failed",
      { field: "potentiality" },
    );
  });
});
