/**
 * Viability at a glance, on real PostgreSQL: a fresh unit lists every gap in plain words; a unit given
 * indicators, episodes, damping and governing policies, an audit and alert channels is viable; the
 * report covers the unit and each unit below it, with open alerts and the latest audit findings.
 */
import { describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { withTenant } from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

describe("viability", () => {
  const ctx = useTestPlatform();

  it("names every gap of a bare unit, and finds a fully equipped one viable", async () => {
    const tenantId = (await seedTenant(ctx.platform)).tenant.id;
    const root = await ctx.platform.units.root(tenantId);
    const plant = await ctx.platform.units.create(tenantId, { name: "Plant", slug: "plant" });
    const line = await ctx.platform.units.create(tenantId, {
      name: "Line",
      slug: "line",
      parentId: plant.id,
    });

    const bare = await ctx.platform.viability.of(tenantId, line.id);
    expect(bare.units.map((u) => u.unit.slug)).toEqual(["line"]);
    const [lineBefore] = bare.units;
    expect(lineBefore?.viable).toBe(false);
    expect(lineBefore?.systems.map((s) => [s.system, s.present, s.alive])).toEqual([
      [1, false, false],
      [2, false, false],
      [3, false, false],
      [4, false, false],
      [5, false, false],
    ]);
    expect(lineBefore?.systems.flatMap((s) => s.gaps)).toEqual([
      "S1: no operations recorded here: no indicators, no episodes and no units below it",
      "S2: no policy with `for` or `cooldown` damps oscillation here",
      "S3: no indicator declares capability and potentiality here",
      "S4: no episodes: nothing from the environment is recorded here",
      "S5: no active policy governs it (its own or one of a unit above it)",
    ]);

    // S1 and S3: an indicator with a reading. S4: an analysed episode.
    const indicator = await ctx.platform.indicators.create(tenantId, line.id, {
      name: "output",
      capability: 10,
      potentiality: 20,
    });
    await ctx.platform.indicators.record(tenantId, line.id, indicator.id, {
      readings: [{ at: new Date().toISOString(), actuality: 8 }],
    });
    const { episode } = await ctx.platform.episodes.create(tenantId, {
      title: "shift report",
      unitId: line.id,
    });
    await withTenant(ctx.db, tenantId, async (trx) => {
      await ctx.platform.episodes.startAnalysis(trx, episode.id);
      await ctx.platform.episodes.completeAnalysis(trx, tenantId, episode.id, { summary: "fine" });
    });
    // S2: a damped policy on the plant governs the line, and evaluated an event. S5: it governs, and the
    // root has an alert channel.
    const damped = await ctx.platform.policies.create(tenantId, {
      name: "damped",
      unitId: plant.id,
      rules: { on: ["custom.x"], for: "1m", then: [{ type: "publish", event: "custom.y" }] },
    });
    await withTenant(ctx.db, tenantId, (trx) =>
      trx
        .insertInto("policy_evaluations")
        .values({ tenant_id: tenantId, event_id: 1, policy_id: damped.id, matched: false, outcome: "{}" })
        .execute(),
    );
    const middle = await ctx.platform.viability.of(tenantId, line.id);
    expect(middle.units[0]?.systems.flatMap((s) => s.gaps)).toEqual([
      "S3: no S3* audit looked at it in the last 7 days",
      "S5: no alert channel on it or above it: an algedonic signal would reach nobody",
    ]);
    await ctx.platform.units.update(tenantId, root.id, { alerts: [{ channel: "event", to: "board" }] });
    await ctx.platform.audits.run(tenantId, { unitId: plant.id });
    const raised = await ctx.platform.alerts.raise(tenantId, { message: "belt slipping", unitId: line.id });

    const report = await ctx.platform.viability.of(tenantId);
    expect(report.unitId).toBe(root.id);
    expect(report.units.map((u) => u.unit.slug)).toEqual([root.slug, "plant", "line"]);
    const lineAfter = report.units[2];
    expect(lineAfter?.viable).toBe(true);
    expect(lineAfter?.systems.every((s) => s.present && s.alive && s.gaps.length === 0)).toBe(true);
    expect(lineAfter?.systems[0]?.evidence).toMatchObject({ indicators: 1, episodes: 1 });
    expect(lineAfter?.systems[4]?.evidence).toMatchObject({ policies: 1, alertChannels: 1 });
    expect(lineAfter?.openAlerts.map((a) => a.id)).toEqual([raised.alert.id]);
    expect(lineAfter?.latestFindings).toEqual([]);
    // The plant has units below it (S1 present) but no readings or episodes of its own, no indicators
    // (S3) and no episodes (S4); the root is governed by no policy at all (the damped one is the plant's).
    const plantAfter = report.units[1];
    expect(plantAfter?.viable).toBe(false);
    expect(plantAfter?.systems.flatMap((s) => s.gaps)).toEqual([
      "S1: nothing happened in the last 7 days: no episode and no indicator reading",
      "S3: no indicator declares capability and potentiality here",
      "S4: no episodes: nothing from the environment is recorded here",
    ]);
    expect(report.units[0]?.systems[4]?.gaps).toEqual([
      "S5: no active policy governs it (its own or one of a unit above it)",
    ]);
  });

  it("shows the latest audit's findings per unit; a state someone set counts as present", async () => {
    const tenantId = (await seedTenant(ctx.platform)).tenant.id;
    const unit = await ctx.platform.units.create(tenantId, {
      name: "U",
      slug: "u",
      stateIntervalSeconds: 60,
    });
    await ctx.platform.systems.update(
      tenantId,
      2,
      { state: { coordinator: "ann" }, version: 1 },
      { unitId: unit.id },
    );
    await withTenant(ctx.db, tenantId, (trx) =>
      trx
        .updateTable("system_states")
        .set({ updated_at: new Date(Date.now() - 3_600_000) })
        .where("unit_id", "=", unit.id)
        .execute(),
    );
    const audit = await ctx.platform.audits.run(tenantId);
    const [u] = (await ctx.platform.viability.of(tenantId, unit.id)).units;
    expect(u?.latestFindings.map((f) => [f.auditId, f.check])).toEqual(
      Array.from({ length: 5 }, () => [audit.id, "stale_state"]),
    );
    expect(u?.systems[1]).toMatchObject({ present: true, alive: false, evidence: { state: { version: 2 } } });
    expect(u?.systems[1]?.gaps).toEqual(["S2: its damping policies evaluated no event in the last 7 days"]);
  });

  it("another tenant's unit is not found", async () => {
    const tenantId = (await seedTenant(ctx.platform)).tenant.id;
    const other = (await seedTenant(ctx.platform)).tenant.id;
    const unit = await ctx.platform.units.create(tenantId, { name: "U", slug: "u" });
    await expectError(ctx.platform.viability.of(other, unit.id), "not_found");
  });
});
