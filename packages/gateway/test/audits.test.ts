/** The audits API over real HTTP: run one, read it back, list; 4xx answers naming what was wrong. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();

describe("audits over HTTP", () => {
  it("runs an audit on demand and reads it back", async () => {
    const { key } = await createTenant(h);
    const unit = (
      await h.request("/v1/units", {
        method: "POST",
        key,
        body: { name: "U", slug: "u", stateIntervalSeconds: 60 },
      })
    ).body;
    const ran = await h.request("/v1/audits", { method: "POST", key });
    expect(ran.status).toBe(201);
    expect(ran.body).toMatchObject({ trigger: "manual", findings: [], summary: { units: 2 } });
    const scoped = await h.request("/v1/audits", {
      method: "POST",
      key,
      body: { unitId: unit.id, sample: 3 },
    });
    expect(scoped.body).toMatchObject({ unitId: unit.id, summary: { sample: 3, units: 1 } });
    expect((await h.request(`/v1/audits/${ran.body.id}`, { key })).body).toEqual(ran.body);
    const list = await h.request("/v1/audits?limit=1", { key });
    expect(list.body.items.map((a: { id: string }) => a.id)).toEqual([scoped.body.id]);
    expect(list.body.nextCursor).toEqual(expect.any(String));
  });

  it("bad input is a 4xx naming what was wrong", async () => {
    const { key } = await createTenant(h);
    const cases: [string, string, unknown, number, RegExp][] = [
      ["POST", "/v1/audits", { sample: 1000 }, 400, /sample/],
      ["POST", "/v1/audits", { unitId: "x" }, 400, /unitId/],
      ["POST", "/v1/audits", { unitId: randomUUID() }, 404, /unit/],
      ["POST", "/v1/audits", { all: true }, 400, /all/],
      ["GET", "/v1/audits/nope", undefined, 400, /id/],
      ["GET", `/v1/audits/${randomUUID()}`, undefined, 404, /audit/],
      ["GET", "/v1/audits?cursor=xyz", undefined, 400, /cursor/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const res = await h.request(path, { method, key, ...(body === undefined ? {} : { body }) });
      expect(res.status, `${method} ${path} ${res.text}`).toBe(status);
      expect(res.body.error.message, `${method} ${path}`).toMatch(message);
    }
  });
});
