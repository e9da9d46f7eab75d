/**
 * Algedonic alerts on real PostgreSQL, with the clock moved by hand (never slept on): raising records the
 * alert, its event and a notification per alert channel of its unit; an unacknowledged pain alert climbs
 * one level per escalation window up to the root, each step once however many passes race for it;
 * acknowledging stops it; the lifecycle raised → acknowledged → resolved records who and when.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { createPlatform, type Platform, type Unit, withTenant } from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

describe("algedonic alerts", () => {
  const ctx = useTestPlatform();
  let now = Date.parse("2026-03-01T08:00:00.000Z");
  const clock = () => new Date(now);
  const advance = (seconds: number) => {
    now += seconds * 1000;
  };
  let platform: Platform;
  beforeAll(() => {
    platform = createPlatform({ db: ctx.db, clock });
  });

  /** root ← plant (300 s) ← line (120 s) ← cell (60 s), each with an event channel of its own. */
  const tree = async () => {
    const tenantId = (
      await seedTenant(platform, { settings: { alerts: [{ channel: "event", to: "board" }] } })
    ).tenant.id;
    const unit = (slug: string, escalationSeconds: number, parentId?: string) =>
      platform.units.create(tenantId, {
        name: slug,
        slug,
        escalationSeconds,
        alerts: [{ channel: "event", to: slug }],
        ...(parentId ? { parentId } : {}),
      });
    const root = await platform.units.root(tenantId);
    const plant = await unit("plant", 300);
    const line = await unit("line", 120, plant.id);
    const cell = await unit("cell", 60, line.id);
    return { tenantId, root, plant, line, cell };
  };
  const notifications = (tenantId: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("notifications")
        .select(["target", "idempotency_key", "payload"])
        .orderBy("created_at")
        .execute(),
    );
  const events = (tenantId: string, type: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("events").select("data").where("type", "=", type).orderBy("seq").execute(),
    );
  /** One escalation pass (it covers every tenant's due alerts: assertions look at this test's own). */
  const pass = () => platform.alerts.escalateDue();
  const levelOf = async (tenantId: string, alertId: string) => {
    const alert = await platform.alerts.get(tenantId, alertId);
    return [alert.levelUnitId, alert.escalationStep];
  };
  const raise = (tenantId: string, unit: Unit, key = `k-${now}-${Math.random()}`) =>
    platform.alerts.raise(tenantId, { message: "the cell is jammed", unitId: unit.id, key });

  it("raising records the alert, algedonic.alert and one notification per channel of its unit", async () => {
    const { tenantId, cell, root } = await tree();
    const { alert, created, notifications: sent } = await raise(tenantId, cell, "jam-1");
    expect(created).toBe(true);
    expect(sent).toBe(1);
    expect(alert).toMatchObject({
      unitId: cell.id,
      levelUnitId: cell.id,
      severity: "pain",
      status: "raised",
      escalationStep: 0,
      raisedAt: new Date(now).toISOString(),
      nextEscalationAt: new Date(now + 60_000).toISOString(),
      escalations: [],
    });
    expect((await events(tenantId, "algedonic.alert")).map((e) => e.data)).toEqual([
      {
        severity: "pain",
        message: "the cell is jammed",
        source: { kind: "api" },
        alertId: alert.id,
        unitId: cell.id,
      },
    ]);
    expect(await notifications(tenantId)).toEqual([
      expect.objectContaining({ target: "cell", idempotency_key: "algedonic:api:jam-1:0" }),
    ]);
    // The same key again: the same alert, nothing new written.
    const again = await raise(tenantId, cell, "jam-1");
    expect(again).toMatchObject({ created: false, notifications: 0, alert: { id: alert.id } });
    expect(await events(tenantId, "algedonic.alert")).toHaveLength(1);
    // At the root: the tenant's channels and the root's own; a root alert has nowhere to climb.
    await platform.units.update(tenantId, root.id, { alerts: [{ channel: "event", to: "root-own" }] });
    const top = await raise(tenantId, root, "top");
    expect(top.notifications).toBe(2);
    expect(top.alert.nextEscalationAt).toBeNull();
    expect((await notifications(tenantId)).slice(1).map((n) => n.target)).toEqual(["board", "root-own"]);
  });

  it("climbs one level per escalation window, three levels up to the root, with an event and a notification each", async () => {
    const { tenantId, root, plant, line, cell } = await tree();
    const { alert } = await raise(tenantId, cell, "climb");
    advance(59);
    await pass();
    expect(await levelOf(tenantId, alert.id)).toEqual([cell.id, 0]);
    advance(1);
    await pass();
    const atLine = await platform.alerts.get(tenantId, alert.id);
    expect(atLine).toMatchObject({
      levelUnitId: line.id,
      escalationStep: 1,
      nextEscalationAt: new Date(now + 120_000).toISOString(),
      escalations: [{ step: 1, fromUnitId: cell.id, toUnitId: line.id, at: new Date(now).toISOString() }],
    });
    advance(119);
    await pass();
    expect(await levelOf(tenantId, alert.id)).toEqual([line.id, 1]);
    advance(1);
    await pass();
    expect(await levelOf(tenantId, alert.id)).toEqual([plant.id, 2]);
    advance(300);
    await pass();
    const atRoot = await platform.alerts.get(tenantId, alert.id);
    expect(atRoot).toMatchObject({
      levelUnitId: root.id,
      escalationStep: 3,
      nextEscalationAt: null,
      status: "raised",
    });
    expect(atRoot.escalations.map((e) => [e.fromUnitId, e.toUnitId])).toEqual([
      [cell.id, line.id],
      [line.id, plant.id],
      [plant.id, root.id],
    ]);
    // At the root (S5) it stays raised; no more steps however long nobody acts.
    advance(86_400);
    await pass();
    expect(await levelOf(tenantId, alert.id)).toEqual([root.id, 3]);
    expect(
      (await events(tenantId, "algedonic.escalated")).map((e) => [e.data.step, e.data.toUnitId]),
    ).toEqual([
      [1, line.id],
      [2, plant.id],
      [3, root.id],
    ]);
    expect((await notifications(tenantId)).map((n) => [n.target, n.idempotency_key])).toEqual([
      ["cell", "algedonic:api:climb:0"],
      ["line", "algedonic:api:climb:step1:0"],
      ["plant", "algedonic:api:climb:step2:0"],
      ["board", "algedonic:api:climb:step3:0"],
    ]);
    const escalatedPayload = (await notifications(tenantId))[1]?.payload;
    expect(escalatedPayload).toMatchObject({ alertId: alert.id, escalationStep: 1, unitId: line.id });
    expect(String(escalatedPayload?.text)).toMatch(/ESCALATED from cell/);
  });

  it("an acknowledged alert stops climbing", async () => {
    const { tenantId, cell, line } = await tree();
    const { alert } = await raise(tenantId, cell);
    advance(60);
    await pass();
    const acked = await platform.alerts.acknowledge(tenantId, alert.id, { kind: "api_key", id: "k1" });
    expect(acked).toMatchObject({ changed: true, alert: { status: "acknowledged", nextEscalationAt: null } });
    advance(10_000);
    await pass();
    expect(await platform.alerts.get(tenantId, alert.id)).toMatchObject({
      levelUnitId: line.id,
      escalationStep: 1,
    });
  });

  it("never climbs twice for one step, however many passes race for it", async () => {
    const { tenantId, cell, line } = await tree();
    const { alert } = await raise(tenantId, cell);
    advance(60);
    await Promise.all(Array.from({ length: 6 }, () => pass()));
    await pass();
    expect(await platform.alerts.get(tenantId, alert.id)).toMatchObject({
      levelUnitId: line.id,
      escalationStep: 1,
    });
    expect(await events(tenantId, "algedonic.escalated")).toHaveLength(1);
  });

  it("pleasure is raised and notified, and never climbs", async () => {
    const { tenantId, cell } = await tree();
    const { alert } = await platform.alerts.raise(tenantId, {
      severity: "pleasure",
      message: "record week",
      unitId: cell.id,
    });
    expect(alert.nextEscalationAt).toBeNull();
    advance(10_000);
    await pass();
    expect(await levelOf(tenantId, alert.id)).toEqual([cell.id, 0]);
    expect(await events(tenantId, "algedonic.escalated")).toEqual([]);
  });

  it("raised → acknowledged → resolved, with who and when, idempotent at each step", async () => {
    const { tenantId, cell } = await tree();
    const { alert } = await raise(tenantId, cell);
    advance(5);
    const telegram = { kind: "telegram", id: "4211", name: "alice" };
    const acked = await platform.alerts.acknowledge(tenantId, alert.id, telegram, { note: "on my way" });
    expect(acked.alert).toMatchObject({
      status: "acknowledged",
      acknowledgedAt: new Date(now).toISOString(),
      acknowledgedBy: telegram,
      note: "on my way",
    });
    const twice = await platform.alerts.acknowledge(tenantId, alert.id, { kind: "telegram", id: "99" });
    expect(twice).toEqual({ alert: acked.alert, changed: false });
    advance(60);
    const resolved = await platform.alerts.resolve(
      tenantId,
      alert.id,
      { kind: "api_key", id: "k2" },
      { by: "bob" },
    );
    expect(resolved.alert).toMatchObject({
      status: "resolved",
      resolvedAt: new Date(now).toISOString(),
      resolvedBy: { kind: "api_key", id: "k2", name: "bob" },
      acknowledgedBy: telegram,
    });
    expect((await platform.alerts.resolve(tenantId, alert.id, { kind: "api_key", id: "k2" })).changed).toBe(
      false,
    );
    await expectError(platform.alerts.acknowledge(tenantId, alert.id, telegram), "conflict", {
      message: /resolved already/,
    });
    expect((await events(tenantId, "algedonic.acknowledged")).map((e) => e.data)).toEqual([
      { alertId: alert.id, unitId: cell.id, by: telegram },
    ]);
    expect((await events(tenantId, "algedonic.resolved")).map((e) => e.data.by)).toEqual([
      { kind: "api_key", id: "k2", name: "bob" },
    ]);
    // A raised alert may be resolved straight away.
    const other = await raise(tenantId, cell);
    expect((await platform.alerts.resolve(tenantId, other.alert.id, telegram)).alert.status).toBe("resolved");
  });

  it("lists newest first, by status and by unit, page by page", async () => {
    const { tenantId, cell, line } = await tree();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      advance(1);
      ids.push((await raise(tenantId, i % 2 ? line : cell)).alert.id);
    }
    await platform.alerts.acknowledge(tenantId, ids[0] as string, { kind: "system", id: "t" });
    await platform.alerts.resolve(tenantId, ids[1] as string, { kind: "system", id: "t" });
    const first = await platform.alerts.list(tenantId, { limit: 2 });
    const second = await platform.alerts.list(tenantId, { limit: 2, cursor: first.nextCursor });
    const third = await platform.alerts.list(tenantId, { limit: 2, cursor: second.nextCursor });
    expect([...first.items, ...second.items, ...third.items].map((a) => a.id)).toEqual([...ids].reverse());
    expect(third.nextCursor).toBeUndefined();
    expect((await platform.alerts.list(tenantId, { status: "open" })).items).toHaveLength(4);
    expect((await platform.alerts.list(tenantId, { status: "resolved" })).items.map((a) => a.id)).toEqual([
      ids[1],
    ]);
    expect((await platform.alerts.list(tenantId, { unitId: line.id })).items).toHaveLength(2);
    await expectError(platform.alerts.list(tenantId, { status: "maybe" }), "validation_failed", {
      field: "status",
    });
  });

  it("another tenant's alert is not found for every operation; bad input is validation_failed", async () => {
    const { tenantId, cell } = await tree();
    const { alert } = await raise(tenantId, cell);
    const other = (await seedTenant(platform)).tenant.id;
    const actor = { kind: "api_key", id: "x" };
    await expectError(platform.alerts.get(other, alert.id), "not_found");
    await expectError(platform.alerts.acknowledge(other, alert.id, actor), "not_found");
    await expectError(platform.alerts.resolve(other, alert.id, actor), "not_found");
    await expectError(platform.alerts.raise(other, { message: "x", unitId: cell.id }), "not_found");
    expect((await platform.alerts.list(other)).items).toEqual([]);
    expect((await platform.alerts.get(tenantId, alert.id)).status).toBe("raised");
    await expectError(platform.alerts.raise(tenantId, { message: "" }), "validation_failed", {
      field: "message",
    });
    await expectError(
      platform.alerts.raise(tenantId, { message: "x", severity: "meh" }),
      "validation_failed",
      {
        field: "severity",
      },
    );
    await expectError(
      platform.alerts.acknowledge(tenantId, alert.id, { kind: "Bad Kind", id: "x" }),
      "validation_failed",
    );
    await expectError(platform.alerts.get(tenantId, "nope"), "validation_failed");
  });
});
