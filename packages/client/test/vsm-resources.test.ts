/**
 * @cybernetic/client's methods for the recursive VSM against a real gateway on loopback (real database):
 * units and their systems, viability, indicators and readings (the triple index), algedonic alerts,
 * S3* audits, notifications, recent events and policy evaluations.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { until } from "../../../test/support/until.ts";
import { withTenant } from "../../core/src/index.ts";
import { ADMIN_KEY, useGateway } from "../../gateway/test/helpers/gateway-harness.ts";
import { createMemoryStorage } from "../../storage/src/index.ts";
import { type CyberneticClient, createClient } from "../src/index.ts";

describe("@cybernetic/client: units, indicators, alerts, audits, notifications, events", () => {
  const h = useGateway({ storage: () => createMemoryStorage() });
  let client: CyberneticClient;
  let tenantId: string;
  let rootId: string;

  beforeAll(async () => {
    const admin = createClient({ baseUrl: h.url, apiKey: ADMIN_KEY });
    const created = await admin.tenants.create({
      name: "VSM client tests",
      slug: `v-${randomBytes(4).toString("hex")}`,
    });
    tenantId = created.tenant.id;
    client = createClient({ baseUrl: h.url, apiKey: created.apiKey.key });
    rootId = (await client.units.list()).items[0]?.id as string;
  });

  it("units: the tree, create, get, update, subtree, move, archive, viability", async () => {
    const tree = await client.units.list();
    expect(tree.items).toHaveLength(1);
    expect(tree.items[0]).toMatchObject({ id: rootId, parentId: null, depth: 0 });
    expect(tree.cursor).toMatch(/^\d+$/);

    const plant = await client.units.create(
      { name: "Plant", slug: "plant", alerts: [{ channel: "event", to: "ops" }] },
      { idempotencyKey: randomUUID() },
    );
    expect(plant).toMatchObject({ parentId: rootId, depth: 1, slug: "plant" });
    const line = await client.units.create({ name: "Line 1", slug: "line-1", parentId: plant.id });
    const store = await client.units.create({ name: "Store", slug: "store" });
    expect((await client.units.get(line.id)).path).toEqual([rootId, plant.id, line.id]);
    expect((await client.units.update(line.id, { name: "Line one" })).name).toBe("Line one");
    expect((await client.units.subtree(plant.id)).items.map((u) => u.id)).toEqual([plant.id, line.id]);

    const moved = await client.units.move(line.id, { parentId: store.id });
    expect(moved.parentId).toBe(store.id);
    await expect(client.units.move(store.id, { parentId: line.id })).rejects.toMatchObject({
      status: 409,
      code: "conflict",
    });
    expect((await client.units.archive(line.id)).archivedAt).not.toBeNull();
    expect((await client.units.list()).items.map((u) => u.id)).not.toContain(line.id);
    expect((await client.units.list({ includeArchived: "true" })).items.map((u) => u.id)).toContain(line.id);

    const viability = await client.units.viability(rootId);
    expect(viability.unitId).toBe(rootId);
    const ids = viability.units.map((u) => u.unit.id);
    expect(ids[0]).toBe(rootId);
    expect(ids).toEqual(expect.arrayContaining([plant.id, store.id]));
    for (const unit of viability.units) {
      expect(unit.systems.map((s) => s.system)).toEqual([1, 2, 3, 4, 5]);
      expect(typeof unit.viable).toBe("boolean");
    }
  });

  it("a unit's own five systems: list, get, update with its version, history", async () => {
    const unit = await client.units.create({
      name: "Depot",
      slug: `depot-${randomBytes(3).toString("hex")}`,
    });
    const systems = await client.units.systems.list(unit.id);
    expect(systems.items.map((s) => [s.system, s.unitId])).toEqual([1, 2, 3, 4, 5].map((n) => [n, unit.id]));
    const s1 = await client.units.systems.get(unit.id, 1);
    const updated = await client.units.systems.update(unit.id, 1, {
      state: { shifts: 3 },
      version: s1.version,
    });
    expect(updated).toMatchObject({ unitId: unit.id, version: s1.version + 1, state: { shifts: 3 } });
    await expect(
      client.units.systems.update(unit.id, 1, { state: {}, version: s1.version }),
    ).rejects.toMatchObject({ status: 409, code: "version_conflict" });
    const history = await client.units.systems.history(unit.id, 1, { limit: 10 });
    expect(history.items.map((e) => e.version)).toEqual([s1.version + 1, s1.version]);
    // The root unit's S1 is untouched.
    expect((await client.systems.get(1)).unitId).toBe(rootId);
  });

  it("indicators: declare, list, get, update, record readings (idempotent), read the series", async () => {
    const indicator = await client.indicators.create(rootId, {
      name: "throughput",
      capability: 80,
      potentiality: 100,
      unitOfMeasure: "units/h",
    });
    expect(indicator).toMatchObject({ unitId: rootId, capability: 80, potentiality: 100, latest: null });
    expect((await client.indicators.list(rootId)).items.map((i) => i.id)).toEqual([indicator.id]);
    expect((await client.indicators.update(rootId, indicator.id, { name: "output" })).name).toBe("output");

    const start = Date.parse("2026-11-01T00:00:00Z");
    const readings = Array.from({ length: 12 }, (_, i) => ({
      at: new Date(start + i * 3_600_000).toISOString(),
      actuality: 60 + (i % 3),
    }));
    const recorded = await client.indicators.record(rootId, indicator.id, { readings });
    expect(recorded.recorded).toHaveLength(12);
    expect(recorded.recorded[0]).toMatchObject({ actuality: 60, productivity: 60 / 80, latency: 80 / 100 });
    const again = await client.indicators.record(rootId, indicator.id, { readings: readings.slice(-2) });
    expect(again).toMatchObject({ recorded: [], duplicates: 2 });

    const series = await client.indicators.readings(rootId, indicator.id, { limit: 5 });
    expect(series.items.map((r) => r.at)).toEqual(readings.slice(0, 5).map((r) => r.at));
    expect(series.nextCursor).toBeTruthy();
    const rest = await client.indicators.readings(rootId, indicator.id, {
      limit: 100,
      cursor: series.nextCursor as string,
    });
    expect(rest.items).toHaveLength(7);
    const latest = await client.indicators.get(rootId, indicator.id);
    expect(latest.latest?.at).toBe(readings.at(-1)?.at);
    const bounded = await client.indicators.readings(rootId, indicator.id, {
      from: readings[2]?.at as string,
      to: readings[4]?.at as string,
    });
    expect(bounded.items.map((r) => r.at)).toEqual(readings.slice(2, 5).map((r) => r.at));
  });

  it("alerts: raise (idempotent by key), list open, get, acknowledge, resolve; notifications record the delivery", async () => {
    const unit = await client.units.create({
      name: "Boiler room",
      slug: `boiler-${randomBytes(3).toString("hex")}`,
      alerts: [{ channel: "webhook", to: "https://alerts.example.test/hook" }],
    });
    const key = `k-${randomBytes(4).toString("hex")}`;
    const alert = await client.alerts.raise({ message: "Pressure too high", unitId: unit.id, key });
    expect(alert).toMatchObject({
      status: "raised",
      severity: "pain",
      unitId: unit.id,
      levelUnitId: unit.id,
    });
    expect((await client.alerts.raise({ message: "Pressure too high", unitId: unit.id, key })).id).toBe(
      alert.id,
    );

    const open = await client.alerts.list({ status: "open", unitId: unit.id });
    expect(open.items.map((a) => a.id)).toEqual([alert.id]);
    expect(open.cursor).toMatch(/^\d+$/);
    expect((await client.alerts.get(alert.id)).escalations).toEqual([]);

    const acknowledged = await client.alerts.acknowledge(alert.id, { by: "night shift", note: "on it" });
    expect(acknowledged).toMatchObject({ status: "acknowledged", note: "on it" });
    expect(acknowledged.acknowledgedBy?.name).toBe("night shift");
    const resolved = await client.alerts.resolve(alert.id);
    expect(resolved.status).toBe("resolved");
    await expect(client.alerts.acknowledge(alert.id)).rejects.toMatchObject({ status: 409 });
    expect((await client.alerts.list({ status: "open", unitId: unit.id })).items).toEqual([]);

    const notifications = await client.notifications.list({ limit: 50 });
    const sentForAlert = notifications.items.filter((n) => n.target === "https://alerts.example.test/hook");
    expect(sentForAlert).toHaveLength(1);
    expect(sentForAlert[0]).toMatchObject({ channel: "webhook" });
    expect(
      (await client.notifications.list({ status: "sent" })).items.every((n) => n.status === "sent"),
    ).toBe(true);
  });

  it("audits: run one now, list, get with findings", async () => {
    const audit = await client.audits.run({ unitId: rootId }, { idempotencyKey: randomUUID() });
    expect(audit).toMatchObject({ unitId: rootId, trigger: "manual" });
    expect(Array.isArray(audit.findings)).toBe(true);
    const page = await client.audits.list({ limit: 10 });
    expect(page.items.map((a) => a.id)).toContain(audit.id);
    expect((await client.audits.get(audit.id)).id).toBe(audit.id);
    await expect(client.audits.get(randomUUID())).rejects.toMatchObject({ status: 404, code: "not_found" });
  });

  it("events.list: recent events, newest first, filtered like a subscription", async () => {
    const { episode } = await client.episodes.create({ title: "Recent", content: "for events.list" });
    // The bus assigns outbox ids; this test runs without one, so publish as the bus would. Publishing waits
    // for transactions older than the event's to end anywhere in the cluster (other test files run beside
    // this one), so it may take a few rounds.
    await until(async () => {
      await sql`select cybernetic.publish_events(1000)`.execute(h.db.db);
      const { rows } = await sql<{ n: string }>`select cybernetic.unpublished_events() as n`.execute(h.db.db);
      return Number(rows[0]?.n) === 0;
    }, "every event to be published");
    const recent = await client.events.list({ type: "episode.*", limit: 5 });
    const first = recent.items[0];
    expect(first?.type).toBe("episode.created");
    if (first?.type === "episode.created") expect(first.data.episodeId).toBe(episode.id);
    expect(recent.items.every((e) => e.type.startsWith("episode."))).toBe(true);
    const ids = recent.items.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(ids);
  });

  it("policies.evaluations: a policy's recorded evaluations and damping state", async () => {
    const policy = await client.policies.create({
      name: `damped-${randomBytes(3).toString("hex")}`,
      rules: {
        on: ["episode.analyzed"],
        cooldown: "10m",
        then: [{ type: "publish", event: "custom.flagged" }],
      },
    });
    // What the workers' evaluation job records for each event it weighs (no workers run in this file).
    await withTenant(h.db.db, tenantId, (trx) =>
      trx
        .insertInto("policy_evaluations")
        .values({
          tenant_id: tenantId,
          policy_id: policy.id,
          event_id: 42,
          matched: true,
          outcome: JSON.stringify({ status: "applied", actions: [] }),
        })
        .execute(),
    );
    const page = await client.policies.evaluations(policy.id, { limit: 10 });
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({ eventId: "42", status: "applied", matched: true });
    expect(page.damping).toMatchObject({ cooldownSeconds: 600 });
    expect((await client.policies.evaluations(policy.id, { status: "error" })).items).toEqual([]);
  });
});
