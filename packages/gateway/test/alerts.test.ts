/**
 * The alerts API over real HTTP: raise (idempotent by key), list, acknowledge and resolve with the
 * calling key recorded as who, and 4xx answers naming what was wrong.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();

describe("alerts over HTTP", () => {
  it("raise → ack → resolve, with the API key as who", async () => {
    const { key, keyId } = await createTenant(h);
    const unit = (await h.request("/v1/units", { method: "POST", key, body: { name: "Line", slug: "line" } }))
      .body;
    const raised = await h.request("/v1/alerts", {
      method: "POST",
      key,
      body: { message: "line stopped", unitId: unit.id, key: "line-stop-1" },
    });
    expect(raised.status).toBe(201);
    expect(raised.body).toMatchObject({
      status: "raised",
      unitId: unit.id,
      levelUnitId: unit.id,
      severity: "pain",
    });
    expect(raised.body.nextEscalationAt).toEqual(expect.any(String));
    const again = await h.request("/v1/alerts", {
      method: "POST",
      key,
      body: { message: "line stopped", unitId: unit.id, key: "line-stop-1" },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(raised.body.id);
    const open = await h.request("/v1/alerts?status=open", { key });
    expect(open.body.items.map((a: { id: string }) => a.id)).toEqual([raised.body.id]);
    const ack = await h.request(`/v1/alerts/${raised.body.id}/ack`, { method: "POST", key });
    expect(ack.status).toBe(200);
    expect(ack.body).toMatchObject({
      status: "acknowledged",
      acknowledgedBy: { kind: "api_key", id: keyId },
      nextEscalationAt: null,
    });
    const resolved = await h.request(`/v1/alerts/${raised.body.id}/resolve`, {
      method: "POST",
      key,
      body: { note: "belt replaced", by: "alice" },
    });
    expect(resolved.body).toMatchObject({
      status: "resolved",
      note: "belt replaced",
      resolvedBy: { kind: "api_key", id: keyId, name: "alice" },
    });
    const late = await h.request(`/v1/alerts/${raised.body.id}/ack`, { method: "POST", key });
    expect(late.status).toBe(409);
    expect((await h.request(`/v1/alerts/${raised.body.id}`, { key })).body.status).toBe("resolved");
  });

  it("bad input is a 4xx naming what was wrong", async () => {
    const { key } = await createTenant(h);
    const cases: [string, string, unknown, number, RegExp][] = [
      ["POST", "/v1/alerts", {}, 400, /message/],
      ["POST", "/v1/alerts", { message: "x", severity: "ouch" }, 400, /severity/],
      ["POST", "/v1/alerts", { message: "x", unitId: randomUUID() }, 404, /unit/],
      ["POST", "/v1/alerts", { message: "x", extra: 1 }, 400, /extra/],
      ["GET", "/v1/alerts?status=sleeping", undefined, 400, /status/],
      ["GET", "/v1/alerts?cursor=garbage", undefined, 400, /cursor/],
      ["GET", "/v1/alerts/nope", undefined, 400, /id/],
      ["GET", `/v1/alerts/${randomUUID()}`, undefined, 404, /alert/],
      ["POST", `/v1/alerts/${randomUUID()}/ack`, undefined, 404, /alert/],
      ["POST", `/v1/alerts/${randomUUID()}/resolve`, { note: 5 }, 400, /note/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await h.request(path, { method, key, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path} ${res.text}`).toBe(status);
      expect(res.body.error.message, `${method} ${path}`).toMatch(message);
    }
  });
});
