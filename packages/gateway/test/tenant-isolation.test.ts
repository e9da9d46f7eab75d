/**
 * Two tenants through the API: neither can see or change the other's episodes, policies, systems or
 * jobs. Row-level security is what enforces it; these tests prove the gateway never bypasses it.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { episodeInput, policyInput } from "../../../test/factories/index.ts";
import { createTenant, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();
const a = { key: "", episode: "", policy: "", job: "" };
const b = { key: "" };

beforeAll(async () => {
  a.key = (await createTenant(h)).key;
  b.key = (await createTenant(h)).key;
  const episode = await h.request("/v1/episodes", {
    method: "POST",
    key: a.key,
    body: episodeInput({ tags: ["a-only"] }),
  });
  a.episode = episode.body.episode.id;
  a.job = episode.body.jobId;
  a.policy = (
    await h.request("/v1/policies", { method: "POST", key: a.key, body: policyInput({ name: "a policy" }) })
  ).body.id;
  const s3 = await h.request("/v1/systems/3", { key: a.key });
  await h.request("/v1/systems/3", {
    method: "PUT",
    key: a.key,
    body: { state: { owner: "a" }, version: s3.body.version },
  });
});

describe("tenant isolation", () => {
  it("episodes: B cannot list, read or re-analyse A's", async () => {
    const list = await h.request("/v1/episodes?limit=100", { key: b.key });
    expect(list.body.items).toEqual([]);
    expect((await h.request("/v1/episodes?tag=a-only", { key: b.key })).body.items).toEqual([]);
    expect((await h.request(`/v1/episodes/${a.episode}`, { key: b.key })).status).toBe(404);
    expect(
      (await h.request(`/v1/episodes/${a.episode}/analyze`, { method: "POST", key: b.key })).status,
    ).toBe(404);
    expect((await h.request(`/v1/episodes/${a.episode}`, { key: a.key })).status).toBe(200);
  });

  it("policies: B cannot list, read, change, delete or evaluate A's", async () => {
    expect((await h.request("/v1/policies", { key: b.key })).body.items).toEqual([]);
    expect((await h.request(`/v1/policies/${a.policy}`, { key: b.key })).status).toBe(404);
    expect(
      (await h.request(`/v1/policies/${a.policy}`, { method: "PATCH", key: b.key, body: { active: false } }))
        .status,
    ).toBe(404);
    expect((await h.request(`/v1/policies/${a.policy}`, { method: "DELETE", key: b.key })).status).toBe(404);
    const evaluate = await h.request(`/v1/policies/${a.policy}/evaluate`, {
      method: "POST",
      key: b.key,
      body: { event: { type: "episode.analyzed" } },
    });
    expect(evaluate.status).toBe(404);
    const mine = await h.request(`/v1/policies/${a.policy}`, { key: a.key });
    expect(mine.body).toMatchObject({ active: true, version: 1 });
    // B may use the same name: names are unique per tenant only.
    expect(
      (
        await h.request("/v1/policies", {
          method: "POST",
          key: b.key,
          body: policyInput({ name: "a policy" }),
        })
      ).status,
    ).toBe(201);
  });

  it("systems: each tenant has its own five states and history", async () => {
    const bS3 = await h.request("/v1/systems/3", { key: b.key });
    expect(bS3.body).toMatchObject({ state: {}, version: 1 });
    const put = await h.request("/v1/systems/3", {
      method: "PUT",
      key: b.key,
      body: { state: { owner: "b" }, version: 1 },
    });
    expect(put.status).toBe(200);
    expect((await h.request("/v1/systems/3", { key: a.key })).body.state).toEqual({ owner: "a" });
    const history = await h.request("/v1/systems/3/history", { key: b.key });
    expect(history.body.items.map((e: { state: unknown }) => e.state)).toEqual([{ owner: "b" }, {}]);
  });

  it("jobs: B cannot see A's job", async () => {
    expect((await h.request(`/v1/jobs/${a.job}`, { key: b.key })).status).toBe(404);
    expect((await h.request(`/v1/jobs/${a.job}`, { key: a.key })).status).toBe(200);
  });
});
