/**
 * S2 on real PostgreSQL and pg-boss: a condition that flaps fires once under `for` and `cooldown`, even
 * when its burst of events is evaluated by jobs running side by side (S2 decides in event order), and
 * every suppressed firing is recorded with its reason and counted (`policies.evaluations`).
 */
import { afterAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { withTenant } from "../../core/src/index.ts";
import type { CyberneticQueue, WorkerRuntime } from "../src/index.ts";
import { until } from "./support/fake-servers.ts";
import { startPolicyWorkers, useQueuePlatform } from "./support/queue-platform.ts";

describe("S2 damping", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let runtime: WorkerRuntime | undefined;
  afterAll(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
  });

  it("a flapping condition fires once under for 60 s and cooldown 10 m; the rest is suppressed, visibly", async () => {
    const tenantId = (await seedTenant(ctx.platform)).tenant.id;
    const policy = await ctx.platform.policies.create(tenantId, {
      name: "overheating",
      rules: {
        on: ["custom.temperature"],
        if: { "==": [{ var: "event.data.hot" }, true] },
        for: "60s",
        cooldown: "10m",
        then: [{ type: "publish", event: "custom.cool_down", data: { at: "{{event.data.t}}" } }],
      },
    });
    runtime = await startPolicyWorkers(ctx, queue);
    // Seconds after `base`, and whether it is hot: the sequence hand-worked in policy-damping.test.ts.
    const readings: [number, boolean][] = [
      [0, true],
      [20, true],
      [30, false],
      [40, true],
      [70, true],
      [80, false],
      [90, true],
      [150, true],
      [160, true],
      [170, false],
      [180, true],
      [240, true],
      [250, true],
    ];
    const base = Date.now() - 3_600_000;
    // One transaction: the whole burst is published at once and its jobs run side by side.
    await withTenant(ctx.db, tenantId, (trx) =>
      trx
        .insertInto("events")
        .values(
          readings.map(([t, hot]) => ({
            tenant_id: tenantId,
            type: "custom.temperature",
            data: JSON.stringify({ t, hot }),
            created_at: new Date(base + t * 1000),
          })),
        )
        .execute(),
    );
    const page = await until(async () => {
      const evaluations = await ctx.platform.policies.evaluations(tenantId, policy.id, { limit: 100 });
      return evaluations.items.length === readings.length ? evaluations : undefined;
    }, "every reading to be evaluated");
    const decided = [...page.items].reverse().map((e) => [e.status, e.suppressed?.reason ?? null]);
    expect(decided).toEqual([
      ["suppressed", "pending"],
      ["suppressed", "pending"],
      ["not_matched", null],
      ["suppressed", "pending"],
      ["suppressed", "pending"],
      ["not_matched", null],
      ["suppressed", "pending"],
      ["applied", null],
      ["suppressed", "firing"],
      ["not_matched", null],
      ["suppressed", "pending"],
      ["suppressed", "cooldown"],
      ["suppressed", "cooldown"],
    ]);
    // Newest first: the reading at 250 s, 100 s after the firing at 150 s.
    expect(page.items[0]?.suppressed?.message).toBe("it fired 100 s ago; the cooldown is 600 s");
    expect(page.damping).toMatchObject({
      forSeconds: 60,
      cooldownSeconds: 600,
      firing: false,
      lastFiredAt: new Date(base + 150_000).toISOString(),
      suppressed: { total: 9, byReason: { pending: 6, firing: 1, cooldown: 2 } },
    });
    // Fired once: one published event.
    const cooled = await withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("events").select("data").where("type", "=", "custom.cool_down").execute(),
    );
    expect(cooled.map((e) => e.data.at)).toEqual(["150"]);
    const onlySuppressed = await ctx.platform.policies.evaluations(tenantId, policy.id, {
      status: "suppressed",
    });
    expect(onlySuppressed.items).toHaveLength(9);
    const firstPage = await ctx.platform.policies.evaluations(tenantId, policy.id, { limit: 5 });
    const secondPage = await ctx.platform.policies.evaluations(tenantId, policy.id, {
      limit: 10,
      cursor: firstPage.nextCursor,
    });
    expect([...firstPage.items, ...secondPage.items].map((e) => e.eventId)).toEqual(
      page.items.map((e) => e.eventId),
    );
  });
});
