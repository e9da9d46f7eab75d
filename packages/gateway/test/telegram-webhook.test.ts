/**
 * `POST /telegram/webhook[/:tenantSlug]` on a real server: the secret token (missing, wrong, right,
 * rotated, a tenant without one), bodies that are not Telegram updates, duplicates, the per-chat limit
 * under a burst while another chat goes through, tenants' bots whose secrets never come back from a
 * read, and the metrics. The job queue is the recording one: what is handled is the workers' business.
 */
import { describe, expect, it } from "vitest";
import { parseExposition } from "./helpers/exposition-parser.ts";
import { ADMIN_KEY, createTenant, rawRequest, useGateway } from "./helpers/gateway-harness.ts";

const PLATFORM_SECRET = "platform-webhook-secret-0123456789";
const SECRET_HEADER = "x-telegram-bot-api-secret-token";
const TENANT_SLUG = "tg-platform";

let updateId = 10_000;
let messageId = 1;
const message = (chatId: number, text = "Line 3 stopped") => ({
  update_id: updateId++,
  message: {
    message_id: messageId++,
    date: 1_700_000_000,
    chat: { id: chatId, type: "private" },
    from: { id: chatId, is_bot: false, first_name: "Ada" },
    text,
  },
});

describe("the platform bot's webhook", () => {
  const h = useGateway({
    config: {
      telegram: {
        tenant: TENANT_SLUG,
        webhookSecret: PLATFORM_SECRET,
        maxUpdateBytes: 4096,
        rateLimit: { perMinute: 1 / 60, burst: 5, slowDownWindowSeconds: 3600 },
      },
    },
  });
  /** `secret: null` sends no secret header. */
  const post = (body: unknown, secret: string | null = PLATFORM_SECRET, path = "/telegram/webhook") =>
    h.request(path, {
      method: "POST",
      body,
      headers: {
        "content-type": "application/json",
        ...(secret === null ? {} : { [SECRET_HEADER]: secret }),
      },
    });
  const jobsFor = (tenantId: string) =>
    [...h.queue.jobs.values()].filter((j) => j.name === "telegram.update" && j.tenantId === tenantId);

  it("refuses a missing or wrong secret token with 401 JSON, before reading the body", async () => {
    const { tenant } = await createTenant(h, TENANT_SLUG);
    const missing = await post(message(1), null);
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({
      error: { code: "unauthorized", details: { reason: "missing_secret_token" } },
      requestId: expect.any(String),
    });
    const wrong = await post(message(1), "platform-webhook-secret-0123456780");
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.details.reason).toBe("wrong_secret_token");
    // A prefix, a longer string, other case: all wrong (the comparison is of equal-length digests).
    for (const secret of [
      PLATFORM_SECRET.slice(0, -1),
      `${PLATFORM_SECRET}x`,
      PLATFORM_SECRET.toUpperCase(),
    ]) {
      expect((await post(message(1), secret)).status).toBe(401);
    }
    // Authentication comes first: garbage from someone without the secret is a 401, not a 400.
    expect((await post("not json", null)).status).toBe(401);
    expect(jobsFor(tenant.id)).toEqual([]);
  });

  it("acknowledges an update with 200 and queues it once; a re-sent one is a duplicate", async () => {
    const queued = () => [...h.queue.jobs.values()].filter((j) => j.name === "telegram.update").length;
    const before = queued();
    const update = message(2);
    const first = await post(update);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ ok: true, outcome: "queued" });
    const again = await post(update);
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ok: true, outcome: "duplicate" });
    expect(queued() - before).toBe(1);
    const edit = {
      update_id: updateId++,
      edited_message: { message_id: 1, chat: { id: 2, type: "private" }, text: "edit" },
    };
    expect((await post(edit)).body).toEqual({ ok: true, outcome: "ignored" });
    expect(queued() - before).toBe(1);
  });

  it("answers 400 naming the field for what is not a Telegram update, 413 when too large, 415 for non-JSON", async () => {
    for (const [body, path] of [
      [{}, "update_id"],
      [{ update_id: "12" }, "update_id"],
      [{ update_id: 12.5 }, "update_id"],
      [{ update_id: 13, message: { message_id: 1, text: "no chat" } }, "message.chat"],
      [[], ""],
    ] as const) {
      const res = await post(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe("validation_failed");
      expect(res.body.error.details.issues).toEqual(
        expect.arrayContaining([expect.objectContaining({ path })]),
      );
    }
    const malformed = await post("{ not json");
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe("invalid_json");
    const big = await post(message(3, "x".repeat(5000)));
    expect(big.status).toBe(413);
    const text = await rawRequest(h.url, {
      method: "POST",
      path: "/telegram/webhook",
      headers: { [SECRET_HEADER]: PLATFORM_SECRET, "content-type": "text/plain", "content-length": "2" },
      chunks: ["{}"],
    });
    expect(text.status).toBe(415);
  });

  it("lets a burst of 100 from one chat through only up to its limit, and another chat's all go through", async () => {
    const before = [...h.queue.jobs.values()].filter((j) => j.name === "telegram.update").length;
    const outcomes: Record<string, number> = {};
    const noisy = Array.from({ length: 100 }, () => message(777));
    const calm = Array.from({ length: 5 }, () => message(778));
    // Interleaved, as Telegram would deliver them.
    for (let i = 0; i < noisy.length; i++) {
      const res = await post(noisy[i]);
      expect(res.status).toBe(200);
      outcomes[res.body.outcome] = (outcomes[res.body.outcome] ?? 0) + 1;
      if (i % 20 === 0) {
        const other = await post(calm[i / 20]);
        expect(other.body.outcome).toBe("queued");
      }
    }
    expect(outcomes).toEqual({ queued: 5, slow_down: 1, limited: 94 });
    const after = [...h.queue.jobs.values()].filter((j) => j.name === "telegram.update").length;
    // 5 of the noisy chat, its one slow-down reply, and all 5 of the calm chat.
    expect(after - before).toBe(11);
    const metrics = parseExposition((await h.request("/metrics")).text);
    const samples = metrics.find((f) => f.name === "cybernetic_telegram_updates_total")?.samples ?? [];
    const count = (outcome: string) => samples.find((s) => s.labels.outcome === outcome)?.value;
    expect(count("rate_limited")).toBe(95);
    expect(count("queued")).toBe(11); // 10 here and the one of the earlier test
    expect(count("duplicate")).toBe(1);
    expect(count("ignored")).toBe(1);
    // 6 refused secrets and 5 bodies that are not updates (malformed JSON, 413 and 415 are HTTP-level).
    expect(count("rejected")).toBe(11);
  });

  it("serves a tenant's own bot by slug with its own secret, refuses one without, and never shows it", async () => {
    const { tenant } = await createTenant(h);
    const path = `/telegram/webhook/${tenant.slug}`;
    const refused = await post(message(5), "any-secret-at-all-0123456789", path);
    expect(refused.status).toBe(403);
    expect(refused.body.error.details.reason).toBe("telegram_webhook_not_configured");
    const secret = "tenant-own-webhook-secret-0123456789";
    const patched = await h.request(`/v1/tenants/${tenant.id}`, {
      method: "PATCH",
      key: ADMIN_KEY,
      body: {
        settings: {
          telegram: { botToken: "987654321:AAtenant_own_bot_token_0123456789abcdef", webhookSecret: secret },
        },
      },
    });
    expect(patched.status).toBe(200);
    expect(patched.body.settings).toEqual({
      telegram: { botToken: "[redacted]", webhookSecret: "[redacted]" },
    });
    expect((await h.request(`/v1/tenants/${tenant.id}`, { key: ADMIN_KEY })).text).not.toContain(secret);
    // Takes effect at once on this gateway (the webhook's cache forgot the tenant).
    expect((await post(message(5), secret, path)).body).toEqual({ ok: true, outcome: "queued" });
    expect((await post(message(5), PLATFORM_SECRET, path)).status).toBe(401);
    expect((await post(message(5), null, path)).status).toBe(401);
    // Rotated: the old secret stops working at once.
    const rotated = "tenant-rotated-secret-0123456789ab";
    await h.request(`/v1/tenants/${tenant.id}`, {
      method: "PATCH",
      key: ADMIN_KEY,
      body: { settings: { telegram: { webhookSecret: rotated } } },
    });
    expect((await post(message(5), secret, path)).status).toBe(401);
    expect((await post(message(5), rotated, path)).status).toBe(200);
    // A bad secret is refused on write, naming it.
    const bad = await h.request(`/v1/tenants/${tenant.id}`, {
      method: "PATCH",
      key: ADMIN_KEY,
      body: { settings: { telegram: { webhookSecret: "short" } } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.issues[0].path).toBe("telegram.webhookSecret");
    // Deactivated: refused.
    await h.request(`/v1/tenants/${tenant.id}/deactivate`, { method: "POST", key: ADMIN_KEY });
    const inactive = await post(message(5), rotated, path);
    expect(inactive.status).toBe(403);
    expect(inactive.body.error.details.reason).toBe("tenant_inactive");
    expect((await post(message(5), rotated, "/telegram/webhook/no-such-tenant")).status).toBe(404);
    expect((await post(message(5), rotated, "/telegram/webhook/Not_A_Slug")).status).toBe(400);
  });

  it("answers 405 to other methods and documents both routes in the OpenAPI document", async () => {
    const get = await h.request("/telegram/webhook");
    expect(get.status).toBe(405);
    const doc = (await h.request("/openapi.json")).body;
    expect(doc.paths["/telegram/webhook"].post.operationId).toBe("telegramWebhook");
    expect(doc.paths["/telegram/webhook/{tenantSlug}"].post.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: SECRET_HEADER, in: "header", required: true }),
      ]),
    );
  });
});

describe("the platform bot's webhook without TELEGRAM_WEBHOOK_SECRET", () => {
  const h = useGateway({ config: { telegram: { tenant: "tg-unset" } } });

  it("is refused, never opened to everyone", async () => {
    await createTenant(h, "tg-unset");
    const res = await h.request("/telegram/webhook", {
      method: "POST",
      body: message(9),
      headers: { [SECRET_HEADER]: "whatever-the-caller-says-0123" },
    });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({
      code: "forbidden",
      message: expect.stringContaining("TELEGRAM_WEBHOOK_SECRET"),
    });
    expect([...h.queue.jobs.values()].filter((j) => j.name === "telegram.update")).toEqual([]);
  });
});
