/**
 * Readings from a policy action on real PostgreSQL and pg-boss: a burst of operational events, evaluated
 * by jobs running side by side, becomes the indicator's series in event order (S2 orders policies that
 * record readings), and a fall in that series raises an algedonic alert at the policy's unit. A missing
 * indicator is skipped and said in the outcome; a value that is not a number is the evaluation's error.
 */
import { afterAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { withTenant } from "../../core/src/index.ts";
import type { CyberneticQueue, WorkerRuntime } from "../src/index.ts";
import { until } from "./support/fake-servers.ts";
import { startPolicyWorkers, useQueuePlatform } from "./support/queue-platform.ts";

describe("record_reading", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let runtime: WorkerRuntime | undefined;
  afterAll(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
  });

  const start = async () => {
    runtime ??= await startPolicyWorkers(ctx, queue);
  };
  /** Publishes a burst of `custom.output` events in one transaction, `base + t` seconds each. */
  const burst = (tenantId: string, base: number, events: { t: number; data: Record<string, unknown> }[]) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .insertInto("events")
        .values(
          events.map(({ t, data }) => ({
            tenant_id: tenantId,
            type: "custom.output",
            data: JSON.stringify(data),
            created_at: new Date(base + t * 1000),
          })),
        )
        .execute(),
    );
  const evaluationsOf = (tenantId: string, policyId: string, count: number) =>
    until(async () => {
      const page = await ctx.platform.policies.evaluations(tenantId, policyId, { limit: 100 });
      return page.items.length === count ? page.items : undefined;
    }, `${count} evaluations`);

  it("a burst becomes the series in event order, and a fall raises a pain alert at the unit", async () => {
    const t = (await seedTenant(ctx.platform)).tenant.id;
    const line = await ctx.platform.units.create(t, {
      name: "Line",
      slug: "line",
      alerts: [{ channel: "event", to: "line" }],
    });
    const indicator = await ctx.platform.indicators.create(t, line.id, {
      name: "bottles per hour",
      unitOfMeasure: "bottles/h",
      capability: 80,
      potentiality: 100,
    });
    const policy = await ctx.platform.policies.create(t, {
      name: "output to the triple index",
      unitId: line.id,
      rules: {
        on: ["custom.output"],
        then: [
          {
            type: "record_reading",
            indicator: "bottles per hour",
            // Per minute in the event, per hour in the indicator: an expression, not a copy.
            value: { "*": [{ var: "event.data.perMinute" }, 60] },
          },
        ],
      },
    });
    await start();
    // Ten steady readings set the detector's baseline, then a fall to half.
    const perHour = [80, 82, 79, 81, 80, 78, 82, 80, 81, 79, 40, 41, 40];
    const base = Date.now() - 3_600_000;
    await burst(
      t,
      base,
      perHour.map((v, i) => ({ t: i * 60, data: { unitId: line.id, perMinute: v / 60 } })),
    );
    const items = await evaluationsOf(t, policy.id, perHour.length);
    expect(items.every((e) => e.status === "applied")).toBe(true);
    const series = await ctx.platform.indicators.readings(t, line.id, indicator.id, { limit: "100" });
    expect(series.items.map((r) => [r.at, r.actuality])).toEqual(
      perHour.map((v, i) => [new Date(base + i * 60_000).toISOString(), v]),
    );
    expect(series.items.map((r) => r.status).slice(10)).toEqual(["outlier", "change", "in_band"]);
    const [alert] = (await ctx.platform.alerts.list(t)).items;
    expect(alert).toMatchObject({
      unitId: line.id,
      severity: "pain",
      source: { kind: "indicator", at: new Date(base + 11 * 60_000).toISOString() },
    });
    // The outcome names what was recorded.
    const triggered = await withTenant(ctx.db, t, (trx) =>
      trx.selectFrom("events").select("data").where("type", "=", "policy.triggered").orderBy("id").execute(),
    );
    expect(triggered).toHaveLength(perHour.length);
    expect(triggered[0]?.data).toMatchObject({
      outcome: {
        actions: [
          {
            type: "record_reading",
            indicator: "bottles per hour",
            indicatorId: indicator.id,
            actuality: 80,
            at: new Date(base).toISOString(),
          },
        ],
      },
    });
  });

  it("an indicator the unit lacks is skipped and said; a value that is not a number is an error", async () => {
    const t = (await seedTenant(ctx.platform)).tenant.id;
    const line = await ctx.platform.units.create(t, { name: "Line", slug: "line" });
    const missing = await ctx.platform.policies.create(t, {
      name: "to a missing indicator",
      unitId: line.id,
      rules: {
        on: ["custom.output"],
        then: [{ type: "record_reading", indicator: "scrap rate", value: { var: "event.data.v" } }],
      },
    });
    await start();
    const base = Date.now() - 60_000;
    await burst(t, base, [
      { t: 0, data: { unitId: line.id, v: 3 } },
      { t: 1, data: { unitId: line.id, v: "three" } },
    ]);
    const items = await evaluationsOf(t, missing.id, 2);
    const [text, number] = items;
    expect(number?.status).toBe("applied");
    expect(number?.outcome).toMatchObject({ actions: ["record_reading"] });
    const triggered = await withTenant(ctx.db, t, (trx) =>
      trx.selectFrom("events").select("data").where("type", "=", "policy.triggered").execute(),
    );
    expect(triggered.map((e) => e.data.outcome)).toEqual([
      {
        status: "applied",
        actions: [
          {
            type: "record_reading",
            index: 0,
            indicator: "scrap rate",
            at: new Date(base).toISOString(),
            skipped: "not_found",
          },
        ],
      },
    ]);
    expect(text?.status).toBe("error");
    expect(text?.outcome).toMatchObject({ errors: ['then.0.value gave "three", not a finite number ≥ 0'] });
  });
});
