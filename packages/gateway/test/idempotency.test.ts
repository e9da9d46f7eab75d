/**
 * `Idempotency-Key` on tenant POSTs: a retried request runs once and replays its first answer; the same
 * key on a different request is refused; a key is per tenant.
 */
import { describe, expect, it } from "vitest";
import { createTenant, request, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();

const postEpisode = (key: string, idempotencyKey: string | undefined, body: unknown) =>
  request(h.url, "/v1/episodes", {
    method: "POST",
    key,
    body,
    ...(idempotencyKey === undefined ? {} : { headers: { "idempotency-key": idempotencyKey } }),
  });

const countEpisodes = async (key: string, title: string) => {
  const res = await request(h.url, "/v1/episodes?limit=100", { key });
  return (res.body.items as { title: string }[]).filter((e) => e.title === title).length;
};

describe("Idempotency-Key", () => {
  it("a retried POST runs once and answers the same, marked as replayed", async () => {
    const { key } = await createTenant(h);
    const body = { title: "retried once", content: "the client retried after a timeout" };
    const first = await postEpisode(key, "key-1", body);
    expect(first.status, first.text).toBe(201);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const second = await postEpisode(key, "key-1", body);
    expect(second.status).toBe(201);
    expect(second.headers.get("idempotent-replayed")).toBe("true");
    expect(second.body).toEqual(first.body);
    expect(await countEpisodes(key, "retried once")).toBe(1);
    // Without a key the same body is a second request.
    expect((await postEpisode(key, undefined, body)).status).toBe(201);
    expect(await countEpisodes(key, "retried once")).toBe(2);
  });

  it("parallel retries with one key create one episode; the others replay or are told to wait", async () => {
    const { key } = await createTenant(h);
    const body = { title: "parallel", content: "five at once" };
    const answers = await Promise.all(Array.from({ length: 5 }, () => postEpisode(key, "same", body)));
    for (const res of answers) {
      expect([201, 409], res.text).toContain(res.status);
      if (res.status === 409) {
        expect(res.body.error.details.reason).toBe("idempotency_in_progress");
        expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      }
    }
    expect(answers.filter((r) => r.status === 201 && !r.headers.get("idempotent-replayed")).length).toBe(1);
    expect(await countEpisodes(key, "parallel")).toBe(1);
  });

  it("the same key on a different request is 422 naming the reuse", async () => {
    const { key } = await createTenant(h);
    expect((await postEpisode(key, "k", { title: "a", content: "first" })).status).toBe(201);
    const reused = await postEpisode(key, "k", { title: "a", content: "different" });
    expect(reused.status).toBe(422);
    expect(reused.body.error.code).toBe("idempotency_key_reused");
    const otherPath = await request(h.url, "/v1/policies", {
      method: "POST",
      key,
      headers: { "idempotency-key": "k" },
      body: { name: "p", rules: { when: { event: "episode.created" }, then: [] } },
    });
    expect(otherPath.status).toBe(422);
  });

  it("a request that failed releases its key: the retry runs again", async () => {
    const { key } = await createTenant(h);
    const bad = await postEpisode(key, "fix-me", { title: "" });
    expect(bad.status).toBe(400);
    const again = await postEpisode(key, "fix-me", { title: "" });
    expect(again.status).toBe(400);
    expect(again.headers.get("idempotent-replayed")).toBeNull();
  });

  it("keys are per tenant", async () => {
    const a = await createTenant(h);
    const b = await createTenant(h);
    const body = { title: "per tenant", content: "same key, two tenants" };
    expect((await postEpisode(a.key, "shared", body)).status).toBe(201);
    const other = await postEpisode(b.key, "shared", body);
    expect(other.status).toBe(201);
    expect(other.headers.get("idempotent-replayed")).toBeNull();
    expect(await countEpisodes(b.key, "per tenant")).toBe(1);
  });

  it.each([
    ["empty", ""],
    ["with a space", "has space"],
    ["of 256 characters", "x".repeat(256)],
    ["not ASCII", "cl\u00e9"],
  ])("refuses a key %s with 400 before running", async (_what, idempotencyKey) => {
    const { key } = await createTenant(h);
    const res = await postEpisode(key, idempotencyKey, { title: "never", content: "created" });
    expect(res.status).toBe(400);
    expect(res.body.error.details.issues[0].path).toBe("idempotency-key");
    expect(await countEpisodes(key, "never")).toBe(0);
  });
});
