/**
 * The units API over real HTTP: the tree, moves with cycle refusal, archive, each unit's systems, and
 * clear 4xx answers for bad input; `/v1/systems` stays the root unit's.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();

describe("units over HTTP", () => {
  it("builds a tree, moves within it, refuses a cycle, and archives a leaf", async () => {
    const { key } = await createTenant(h);
    const tree = await h.request("/v1/units", { key });
    expect(tree.status).toBe(200);
    expect(tree.headers.get("x-event-cursor")).toMatch(/^\d+$/);
    const [root] = tree.body.items;
    expect(root).toMatchObject({ parentId: null, depth: 0 });
    const plant = await h.request("/v1/units", {
      method: "POST",
      key,
      body: { name: "Plant", slug: "plant" },
    });
    expect(plant.status).toBe(201);
    expect(plant.body).toMatchObject({ parentId: root.id, depth: 1, escalationSeconds: 900, alerts: [] });
    const line = await h.request("/v1/units", {
      method: "POST",
      key,
      body: { name: "Line", slug: "line", parentId: plant.body.id },
    });
    expect(line.body.path).toEqual([root.id, plant.body.id, line.body.id]);
    const cycle = await h.request(`/v1/units/${plant.body.id}/move`, {
      method: "POST",
      key,
      body: { parentId: line.body.id },
    });
    expect(cycle.status).toBe(409);
    expect(cycle.body.error).toMatchObject({ code: "conflict", details: { reason: "cycle" } });
    const moved = await h.request(`/v1/units/${line.body.id}/move`, {
      method: "POST",
      key,
      body: { parentId: root.id },
    });
    expect(moved.body).toMatchObject({ depth: 1, parentId: root.id });
    const subtree = await h.request(`/v1/units/${plant.body.id}/subtree`, { key });
    expect(subtree.body.items.map((u: { slug: string }) => u.slug)).toEqual(["plant"]);
    const renamed = await h.request(`/v1/units/${line.body.id}`, {
      method: "PATCH",
      key,
      body: { name: "Line A" },
    });
    expect(renamed.body.name).toBe("Line A");
    const archived = await h.request(`/v1/units/${line.body.id}/archive`, { method: "POST", key });
    expect(archived.status).toBe(200);
    expect(archived.body.archivedAt).not.toBeNull();
    const rootArchive = await h.request(`/v1/units/${root.id}/archive`, { method: "POST", key });
    expect(rootArchive.body.error).toMatchObject({ code: "conflict", details: { reason: "root" } });
    const all = await h.request("/v1/units?includeArchived=true", { key });
    expect(all.body.items).toHaveLength(3);
  });

  it("each unit has its own systems; /v1/systems is the root unit's", async () => {
    const { key } = await createTenant(h);
    const unit = (await h.request("/v1/units", { method: "POST", key, body: { name: "U", slug: "u" } })).body;
    const put = await h.request(`/v1/units/${unit.id}/systems/3`, {
      method: "PUT",
      key,
      body: { state: { budget: 5 }, version: 1 },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ unitId: unit.id, system: 3, version: 2, state: { budget: 5 } });
    expect((await h.request("/v1/systems/3", { key })).body).toMatchObject({ version: 1, state: {} });
    const list = await h.request(`/v1/units/${unit.id}/systems`, { key });
    expect(list.body.items.map((s: { version: number }) => s.version)).toEqual([1, 1, 2, 1, 1]);
    const history = await h.request(`/v1/units/${unit.id}/systems/3/history?limit=1`, { key });
    expect(history.body.items).toHaveLength(1);
    expect(history.body.nextCursor).toEqual(expect.any(String));
    const stale = await h.request(`/v1/units/${unit.id}/systems/3`, {
      method: "PUT",
      key,
      body: { state: {}, version: 1 },
    });
    expect(stale.status).toBe(409);
  });

  it("bad input is a 4xx naming what was wrong", async () => {
    const { key } = await createTenant(h);
    const cases: [string, string, unknown, number, RegExp][] = [
      ["POST", "/v1/units", { name: "x" }, 400, /slug/],
      ["POST", "/v1/units", { name: "x", slug: "Not A Slug" }, 400, /slug/],
      ["POST", "/v1/units", { name: "x", slug: "x", parentId: "nope" }, 400, /parentId/],
      ["POST", "/v1/units", { name: "x", slug: "x", parentId: randomUUID() }, 404, /unit/],
      ["POST", "/v1/units", { name: "x", slug: "x", escalationSeconds: 1 }, 400, /escalationSeconds/],
      ["POST", "/v1/units", { name: "x", slug: "x", colour: "red" }, 400, /colour/],
      ["GET", "/v1/units/not-a-uuid", undefined, 400, /id/],
      ["GET", `/v1/units/${randomUUID()}`, undefined, 404, /unit/],
      ["PATCH", `/v1/units/${randomUUID()}`, {}, 400, /at least one/],
      ["GET", `/v1/units/${randomUUID()}/systems/9`, undefined, 400, /system/],
      ["GET", `/v1/units?includeArchived=maybe`, undefined, 400, /includeArchived/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await h.request(path, { method, key, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path} ${res.text}`).toBe(status);
      expect(res.body.error.message, `${method} ${path}`).toMatch(message);
    }
  });
});
