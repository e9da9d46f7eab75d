/**
 * The triple index on `/metrics`: aggregates with fixed label sets by default; per-indicator series only
 * when the operator opts in, capped, labelled by unit and indicator id, never by tenant or name.
 */
import { describe, expect, it } from "vitest";
import { type Family, parseExposition } from "./helpers/exposition-parser.ts";
import { createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway({ config: { metricsIndicatorSeries: 2 } });

const scrape = async (): Promise<Family[]> => parseExposition((await h.request("/metrics")).text);

describe("/metrics and the triple index", () => {
  it("shows counts and means, and at most the opted-in number of indicators by id", async () => {
    const { key, tenant } = await createTenant(h);
    const unit = (await h.request("/v1/units", { method: "POST", key, body: { name: "Line", slug: "line" } }))
      .body;
    const ids: string[] = [];
    for (const [i, actuality] of [60, 80, 100].entries()) {
      const indicator = (
        await h.request(`/v1/units/${unit.id}/indicators`, {
          method: "POST",
          key,
          body: { name: `indicator ${i}`, capability: 80, potentiality: 100 },
        })
      ).body;
      ids.push(indicator.id);
      const recorded = await h.request(`/v1/units/${unit.id}/indicators/${indicator.id}/readings`, {
        method: "POST",
        key,
        body: { readings: [{ at: new Date(Date.UTC(2026, 0, 1, i)).toISOString(), actuality }] },
      });
      expect(recorded.status).toBe(200);
    }
    const families = await scrape();
    const samples = (name: string) => families.find((f) => f.name === name)?.samples ?? [];
    expect(samples("cybernetic_indicators").find((s) => s.labels.status === "warmup")?.value).toBe(3);
    const mean = Object.fromEntries(
      samples("cybernetic_indicator_index_mean").map((s) => [s.labels.index, s.value]),
    );
    // Performance 0.6, 0.8, 1.0; productivity 0.75, 1, 1.25; latency 0.8 each.
    expect(mean.performance).toBeCloseTo(0.8, 12);
    expect(mean.productivity).toBeCloseTo(1, 12);
    expect(mean.latency).toBeCloseTo(0.8, 12);
    const series = samples("cybernetic_indicator_index");
    // The two most recently read of the three, three indices each.
    expect(series).toHaveLength(6);
    expect(new Set(series.map((s) => s.labels.indicator_id))).toEqual(new Set([ids[1], ids[2]]));
    for (const s of series) {
      expect(Object.keys(s.labels).sort()).toEqual(["index", "indicator_id", "unit_id"]);
      expect(s.labels.unit_id).toBe(unit.id);
      expect(Object.values(s.labels)).not.toContain(tenant.id);
    }
    expect(
      series.find((s) => s.labels.indicator_id === ids[2] && s.labels.index === "performance")?.value,
    ).toBe(1);
  });
});
