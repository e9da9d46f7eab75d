#!/usr/bin/env node
// End-to-end check of a running Cybernetic: every endpoint family, as a client sees it.
//
//   node test/e2e/check-endpoints.mjs <base-url> <admin-key> [--metrics-token <t>] [--telegram-secret <s>]
//   e.g. node test/e2e/check-endpoints.mjs http://localhost:8080 "$CYBERNETIC_ADMIN_KEY"
//
// Needs Node >= 20 and nothing else (no package of this repository): it runs against a compose stack, a
// deployed gateway or the native stack the test suite starts (test/e2e/check-endpoints.test.ts). It creates
// two tenants (slugs e2e-<random>), works through health, ready, metrics, OpenAPI, tenants and keys,
// systems, policies, an episode seen analysed (and its policy's effect), an SSE subscriber receiving that,
// jobs, events, artifacts up and down, tenant isolation and the Telegram webhook (when the gateway has one),
// then deactivates both tenants. One line per check: "PASS <name> (<ms> ms)" or "FAIL <name>: <why>"
// ("SKIP <name>: <why>" only for the webhook of a gateway without one); exit 1 when any check failed.
import { randomBytes } from "node:crypto";

const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  if (at === -1) return undefined;
  const [value] = args.splice(at, 2).slice(1);
  return value;
};
const metricsToken = option("--metrics-token");
const telegramSecret = option("--telegram-secret");
const timeoutMs = Number(option("--timeout-ms") ?? 30_000);
const [baseArg, adminKey] = args;
if (!baseArg || !adminKey) {
  console.error(
    "usage: check-endpoints.mjs <base-url> <admin-key> [--metrics-token <t>] [--telegram-secret <s>]",
  );
  process.exit(2);
}
const base = baseArg.replace(/\/+$/, "");

let passed = 0;
let failed = 0;
/** Runs one check; a thrown error (or a failed `expect`) is its FAIL line, and later checks still run. */
async function check(name, fn) {
  const started = performance.now();
  try {
    const note = await fn();
    passed++;
    console.log(`PASS ${name} (${Math.round(performance.now() - started)} ms)${note ? `: ${note}` : ""}`);
  } catch (error) {
    failed++;
    console.log(`FAIL ${name}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/** One request; JSON bodies in and out. Resolves with status, headers, text and the parsed body. */
async function call(method, path, { key, body, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (key) h.authorization = `Bearer ${key}`;
  let payload = raw;
  if (body !== undefined) {
    payload = JSON.stringify(body);
    h["content-type"] = "application/json";
  }
  const response = await fetch(`${base}${path}`, {
    method,
    headers: h,
    body: payload,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = method === "HEAD" ? "" : await response.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}
const said = (res) => `${res.status} ${res.text.slice(0, 200)}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Polls `fn` until it returns something other than undefined, or fails naming `what`. */
async function until(what, fn, ms = timeoutMs) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last !== undefined) return last;
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${ms} ms`);
    await sleep(200);
  }
}

/** An SSE subscriber: reads `GET /v1/events` and keeps every event it has seen. */
function subscribe(key, topics) {
  const events = [];
  const controller = new AbortController();
  let connected;
  const ready = new Promise((resolve) => {
    connected = resolve;
  });
  const done = (async () => {
    const response = await fetch(`${base}/v1/events?topics=${encodeURIComponent(topics)}`, {
      headers: { authorization: `Bearer ${key}`, accept: "text/event-stream" },
      signal: controller.signal,
    });
    if (response.status !== 200) throw new Error(`GET /v1/events answered ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
        const data = block
          .split("\n")
          .filter((line) => line.startsWith("data: "))
          .map((line) => line.slice(6))
          .join("\n");
        const id = /^id: (.*)$/m.exec(block)?.[1];
        if (type === "connected") connected();
        if (data) events.push({ type, id, data: JSON.parse(data) });
        end = buffer.indexOf("\n\n");
      }
    }
  })().catch((error) => {
    if (error?.name !== "AbortError") events.push({ type: "error", data: String(error?.message ?? error) });
    connected();
  });
  return { events, ready, close: () => controller.abort(), done };
}

const run = randomBytes(3).toString("hex");
const state = {};

await check("health: GET /health answers 200 ok", async () => {
  const res = await call("GET", "/health");
  expect(res.status === 200 && res.json?.status === "ok", said(res));
  expect(res.headers.get("x-request-id"), "no x-request-id header");
});

await check("ready: GET /ready answers 200 with database, storage and queue ok", async () => {
  const res = await call("GET", "/ready");
  expect(res.status === 200, said(res));
  for (const name of ["database", "storage", "queue"]) {
    expect(res.json?.checks?.[name]?.status === "ok", `${name} is ${res.json?.checks?.[name]?.status}`);
  }
});

await check("openapi: GET /openapi.json is an OpenAPI 3.1 document", async () => {
  const res = await call("GET", "/openapi.json");
  expect(res.status === 200 && /^3\.1\./.test(res.json?.openapi ?? ""), said(res));
  state.paths = Object.keys(res.json.paths ?? {});
  return `${state.paths.length} paths`;
});

await check("errors: a bad request is a 4xx JSON error naming the problem, with a request id", async () => {
  const res = await call("POST", "/v1/tenants", { key: adminKey, body: { name: "" } });
  expect(res.status === 400 && res.json?.error?.code === "validation_failed", said(res));
  expect(typeof res.json?.requestId === "string", "no requestId in the error");
  const anonymous = await call("GET", "/v1/episodes");
  expect(anonymous.status === 401, `without a key: ${said(anonymous)}`);
});

await check("tenants: the admin key creates two tenants, each with a first API key", async () => {
  for (const name of ["a", "b"]) {
    const slug = `e2e-${run}-${name}`;
    const res = await call("POST", "/v1/tenants", { key: adminKey, body: { name: `E2E ${name}`, slug } });
    expect(res.status === 201 && res.json?.apiKey?.key?.startsWith("cyb_"), said(res));
    state[name] = { id: res.json.tenant.id, slug, key: res.json.apiKey.key };
  }
  const listed = await call("GET", "/v1/tenants?limit=100", { key: adminKey });
  expect(listed.status === 200 && Array.isArray(listed.json?.items), said(listed));
  const again = await call("POST", "/v1/tenants", { key: adminKey, body: { name: "x", slug: state.a.slug } });
  expect(again.status === 409, `a taken slug: ${said(again)}`);
  const tenantKey = await call("GET", "/v1/tenants", { key: state.a.key });
  expect(tenantKey.status === 403, `a tenant key on the admin API: ${said(tenantKey)}`);
});

await check("api keys: issue a second key, use it, revoke it, and it stops working", async () => {
  const issued = await call("POST", `/v1/tenants/${state.a.id}/api-keys`, {
    key: adminKey,
    body: { name: "e2e second", scopes: ["read"] },
  });
  expect(issued.status === 201 && issued.json?.key, said(issued));
  const used = await call("GET", "/v1/systems", { key: issued.json.key });
  expect(used.status === 200, `with the new key: ${said(used)}`);
  const write = await call("POST", "/v1/episodes", { key: issued.json.key, body: { title: "no" } });
  expect(write.status === 403, `a read-only key writing: ${said(write)}`);
  const revoked = await call("DELETE", `/v1/tenants/${state.a.id}/api-keys/${issued.json.id}`, {
    key: adminKey,
  });
  expect(revoked.status === 200 && revoked.json?.revokedAt, said(revoked));
  const after = await call("GET", "/v1/systems", { key: issued.json.key });
  expect(after.status === 401, `after revocation: ${said(after)}`);
});

await check(
  "systems: five systems; an update with the right version bumps it, a stale one is 409",
  async () => {
    const list = await call("GET", "/v1/systems", { key: state.a.key });
    expect(list.status === 200 && list.json?.items?.length === 5, said(list));
    const s4 = list.json.items.find((s) => s.system === 4);
    const put = await call("PUT", "/v1/systems/4", {
      key: state.a.key,
      body: { state: { e2e: run }, version: s4.version },
    });
    expect(put.status === 200 && put.json?.version === s4.version + 1, said(put));
    const stale = await call("PUT", "/v1/systems/4", {
      key: state.a.key,
      body: { state: {}, version: s4.version },
    });
    expect(stale.status === 409, `a stale version: ${said(stale)}`);
    const history = await call("GET", "/v1/systems/4/history", { key: state.a.key });
    expect(history.status === 200 && history.json?.items?.length >= 1, said(history));
  },
);

await check("policies: create one (S3 state on analysis), read, update and list it", async () => {
  const created = await call("POST", "/v1/policies", {
    key: state.a.key,
    body: {
      name: `e2e ${run}`,
      rules: { on: ["episode.analyzed"], then: [{ type: "set_state", system: 3, patch: { e2e: run } }] },
    },
  });
  expect(created.status === 201 && created.json?.id, said(created));
  state.policy = created.json;
  const got = await call("GET", `/v1/policies/${created.json.id}`, { key: state.a.key });
  expect(got.status === 200 && got.json?.name === `e2e ${run}`, said(got));
  const patched = await call("PATCH", `/v1/policies/${created.json.id}`, {
    key: state.a.key,
    body: { description: "set by the end-to-end check", version: created.json.version },
  });
  expect(patched.status === 200, said(patched));
  const list = await call("GET", "/v1/policies", { key: state.a.key });
  expect(list.status === 200 && list.json?.items?.some((p) => p.id === created.json.id), said(list));
});

await check("episode + SSE: a subscriber sees it created and analysed; the analysis is stored", async () => {
  const stream = subscribe(state.a.key, "episode.*");
  try {
    await Promise.race([
      stream.ready,
      sleep(timeoutMs).then(() => Promise.reject(new Error("no connected event"))),
    ]);
    const created = await call("POST", "/v1/episodes", {
      key: state.a.key,
      body: {
        title: `Line 3 stopped (${run})`,
        content: "The packaging line stopped twice tonight; customers wait.",
      },
      headers: { "idempotency-key": `e2e-${run}` },
    });
    expect(created.status === 201 && created.json?.episode?.id, said(created));
    state.episode = created.json.episode;
    state.jobId = created.json.jobId;
    const replay = await call("POST", "/v1/episodes", {
      key: state.a.key,
      body: {
        title: `Line 3 stopped (${run})`,
        content: "The packaging line stopped twice tonight; customers wait.",
      },
      headers: { "idempotency-key": `e2e-${run}` },
    });
    expect(replay.headers.get("idempotent-replayed") === "true", `an Idempotency-Key retry: ${said(replay)}`);
    const id = state.episode.id;
    const seen = await until("episode.analyzed on the stream", () => {
      const error = stream.events.find((e) => e.type === "error");
      if (error) throw new Error(error.data);
      const types = stream.events.filter((e) => e.data?.data?.episodeId === id).map((e) => e.type);
      return types.includes("episode.created") && types.includes("episode.analyzed") ? types : undefined;
    });
    const episode = await until("the stored analysis", async () => {
      const res = await call("GET", `/v1/episodes/${id}`, { key: state.a.key });
      return res.json?.status === "complete" ? res.json : undefined;
    });
    expect(episode.analysis?.summary && episode.analysis?.risk?.level, "no analysis stored");
    return `events ${seen.join(", ")}; risk ${episode.analysis.risk.level}`;
  } finally {
    stream.close();
  }
});

await check("jobs: the episode's analysis job is known and completed", async () => {
  expect(state.jobId, "no jobId from POST /v1/episodes");
  const job = await until("the job to complete", async () => {
    const res = await call("GET", `/v1/jobs/${state.jobId}`, { key: state.a.key });
    expect(res.status === 200, said(res));
    return res.json?.state === "completed" ? res.json : undefined;
  });
  return job.name;
});

await check("policy effect: the worker evaluated the policy (S3 state set)", async () => {
  await until("system 3's state to carry the policy's patch", async () => {
    const res = await call("GET", "/v1/systems/3", { key: state.a.key });
    return res.json?.state?.e2e === run ? true : undefined;
  });
});

await check("events: the outbox lists what happened, newest first", async () => {
  const res = await call("GET", "/v1/events/recent?limit=50", { key: state.a.key });
  expect(res.status === 200 && Array.isArray(res.json?.items), said(res));
  const types = new Set(res.json.items.map((e) => e.type));
  for (const type of ["episode.created", "episode.analyzed", "policy.created"])
    expect(types.has(type), `no ${type} among ${[...types].join(", ")}`);
});

await check("artifacts: put, head, list, get the same bytes, delete", async () => {
  const path = `e2e/${run}/report.txt`;
  const bytes = `hello from the end-to-end check ${run}\n`;
  const put = await call("PUT", `/v1/artifacts/${path}`, {
    key: state.a.key,
    raw: bytes,
    headers: { "content-type": "text/plain" },
  });
  expect(put.status === 201, said(put));
  const head = await call("HEAD", `/v1/artifacts/${path}`, { key: state.a.key });
  expect(
    head.status === 200 && head.headers.get("content-length") === String(Buffer.byteLength(bytes)),
    `HEAD ${head.status}`,
  );
  const list = await call("GET", `/v1/artifacts?prefix=${encodeURIComponent(`e2e/${run}/`)}`, {
    key: state.a.key,
  });
  expect(list.status === 200 && list.json?.items?.some((a) => a.path === path), said(list));
  const got = await call("GET", `/v1/artifacts/${path}`, { key: state.a.key });
  expect(got.status === 200 && got.text === bytes, `GET ${got.status}: ${got.text.slice(0, 80)}`);
  const other = await call("GET", `/v1/artifacts/${path}`, { key: state.b.key });
  expect(other.status === 404, `another tenant reading it: ${said(other)}`);
  const deleted = await call("DELETE", `/v1/artifacts/${path}`, { key: state.a.key });
  expect(deleted.status === 204, said(deleted));
  const gone = await call("GET", `/v1/artifacts/${path}`, { key: state.a.key });
  expect(gone.status === 404, `after delete: ${said(gone)}`);
});

await check("isolation: another tenant sees none of it", async () => {
  const episode = await call("GET", `/v1/episodes/${state.episode?.id}`, { key: state.b.key });
  expect(episode.status === 404, `tenant b reading a's episode: ${said(episode)}`);
  const policy = await call("GET", `/v1/policies/${state.policy?.id}`, { key: state.b.key });
  expect(policy.status === 404, `tenant b reading a's policy: ${said(policy)}`);
  const list = await call("GET", "/v1/episodes", { key: state.b.key });
  expect(list.status === 200 && list.json?.items?.length === 0, said(list));
});

// A tenant's own webhook (`/telegram/webhook/{tenantSlug}`): the check gives tenant a the secret first,
// so it needs no tenant set up beforehand (the platform's `/telegram/webhook` serves TELEGRAM_TENANT).
const webhooks = (state.paths ?? []).filter((p) => p.startsWith("/telegram/webhook"));
const webhook = webhooks.find((p) => p.includes("{tenantSlug}")) ?? webhooks[0];
if (!webhook) {
  console.log("SKIP telegram webhook: this gateway has no /telegram/webhook (see /openapi.json)");
} else {
  await check(
    "telegram webhook: an update with the secret is accepted (twice: deduplicated), a wrong secret refused",
    async () => {
      expect(telegramSecret, "the gateway has a webhook: pass --telegram-secret (TELEGRAM_WEBHOOK_SECRET)");
      const path = webhook.replace("{tenantSlug}", state.a.slug);
      if (path !== webhook) {
        const set = await call("PATCH", `/v1/tenants/${state.a.id}`, {
          key: adminKey,
          body: { settings: { telegram: { webhookSecret: telegramSecret } } },
        });
        expect(set.status === 200, `giving tenant a its webhook secret: ${said(set)}`);
      }
      const update = {
        update_id: Number.parseInt(randomBytes(3).toString("hex"), 16),
        message: {
          message_id: 1,
          date: Math.floor(Date.now() / 1000),
          chat: { id: 4242, type: "private" },
          from: { id: 4242, is_bot: false, first_name: "E2E" },
          text: `end-to-end ${run}`,
        },
      };
      const headers = { "x-telegram-bot-api-secret-token": telegramSecret };
      const first = await call("POST", path, { body: update, headers });
      expect(first.status >= 200 && first.status < 300, said(first));
      const again = await call("POST", path, { body: update, headers });
      expect(again.status >= 200 && again.status < 300, `the same update again: ${said(again)}`);
      const wrong = await call("POST", path, {
        body: update,
        headers: { "x-telegram-bot-api-secret-token": `${telegramSecret}x` },
      });
      expect(wrong.status >= 400 && wrong.status < 500, `a wrong secret: ${said(wrong)}`);
    },
  );
}

await check("policies: delete", async () => {
  const res = await call("DELETE", `/v1/policies/${state.policy?.id}`, { key: state.a.key });
  expect(res.status === 204, said(res));
});

await check("metrics: GET /metrics is Prometheus text counting this run's requests", async () => {
  const res = await call("GET", "/metrics", metricsToken ? { key: metricsToken } : {});
  expect(res.status === 200 && /text\/plain/.test(res.headers.get("content-type") ?? ""), said(res));
  expect(
    /cybernetic_http_requests_total\{[^}]*route="\/v1\/episodes"/.test(res.text),
    "no request counted for /v1/episodes",
  );
  for (const name of ["cybernetic_sse_connections", "cybernetic_http_request_duration_seconds_bucket"])
    expect(res.text.includes(name), `no ${name}`);
});

await check("tenants: deactivating both refuses their keys", async () => {
  for (const name of ["a", "b"]) {
    const res = await call("POST", `/v1/tenants/${state[name]?.id}/deactivate`, { key: adminKey });
    expect(res.status === 200 && res.json?.active === false, said(res));
  }
  const refused = await call("GET", "/v1/systems", { key: state.a.key });
  expect(refused.status === 401 || refused.status === 403, `a deactivated tenant's key: ${said(refused)}`);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
