/**
 * Policies and units: a policy on a unit sees the events of that unit and of every unit below it, and
 * nothing of its siblings or of the units above; a root policy sees everything (events that name no
 * unit are the root's); a `set_state` action writes its own unit's state; conditions see the unit.
 */
import { afterAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { type JsonObject, withTenant } from "../../core/src/index.ts";
import type { CyberneticQueue, WorkerRuntime } from "../src/index.ts";
import { until } from "./support/fake-servers.ts";
import { startPolicyWorkers, useQueuePlatform } from "./support/queue-platform.ts";

describe("policies on units", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let runtime: WorkerRuntime | undefined;
  afterAll(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
  });

  const evaluated = (tenantId: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("policy_evaluations as pe")
        .innerJoin("events as e", "e.id", "pe.event_id")
        .select(["pe.policy_id", "e.data", "pe.matched"])
        .orderBy("e.id")
        .execute(),
    );

  it("sees its own subtree only, and set_state writes the policy's unit", async () => {
    const t = (await seedTenant(ctx.platform)).tenant.id;
    const root = await ctx.platform.units.root(t);
    const plant = await ctx.platform.units.create(t, { name: "Plant", slug: "plant" });
    const line = await ctx.platform.units.create(t, { name: "Line", slug: "line", parentId: plant.id });
    const sales = await ctx.platform.units.create(t, { name: "Sales", slug: "sales" });
    const rules = (extra: JsonObject = {}) => ({
      on: ["custom.signal"],
      then: [{ type: "set_state" as const, system: 3 as const, patch: { seen: true, ...extra } }],
    });
    const rootPolicy = await ctx.platform.policies.create(t, { name: "root", rules: rules() });
    const plantPolicy = await ctx.platform.policies.create(t, {
      name: "plant",
      unitId: plant.id,
      rules: { ...rules(), if: { "==": [{ var: "unit.slug" }, "line"] } },
    });
    runtime = await startPolicyWorkers(ctx, queue);
    const signals = [
      { unitId: line.id, n: 1 },
      { unitId: sales.id, n: 2 },
      { n: 3 },
      { unitId: plant.id, n: 4 },
    ];
    for (const data of signals) {
      await withTenant(ctx.db, t, (trx) =>
        trx
          .insertInto("events")
          .values({ tenant_id: t, type: "custom.signal", data: JSON.stringify(data) })
          .execute(),
      );
    }
    const rows = await until(async () => {
      const seen = await evaluated(t);
      // Four for the root's policy, two for the plant's (each policy commits on its own).
      return seen.length === 6 ? seen : undefined;
    }, "every signal to be evaluated");
    const byPolicy = (id: string) => rows.filter((r) => r.policy_id === id).map((r) => [r.data.n, r.matched]);
    expect(byPolicy(rootPolicy.id)).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
    ]);
    // The plant's policy saw the line's and its own events (its condition held for the line's only), not
    // the sales unit's nor the root's.
    expect(byPolicy(plantPolicy.id)).toEqual([
      [1, true],
      [4, false],
    ]);
    expect((await ctx.platform.systems.get(t, 3, { unitId: plant.id })).state).toEqual({ seen: true });
    expect((await ctx.platform.systems.get(t, 3, { unitId: root.id })).state).toEqual({ seen: true });
    expect((await ctx.platform.systems.get(t, 3, { unitId: line.id })).version).toBe(1);
  });
});
