/**
 * The `/metrics` exposition of a live server: lint-clean for `promtool check metrics` (run whenever
 * promtool is on PATH, as in CI with Debian's `prometheus` package) and always valid for the strict
 * parser in helpers/exposition-parser.ts; bounded labels only (route templates, never ids).
 */
import { spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { episodeInput } from "../../../test/factories/index.ts";
import { type Family, parseExposition } from "./helpers/exposition-parser.ts";
import { createTenant, useGateway } from "./helpers/gateway-harness.ts";

const METRICS_TOKEN = randomBytes(24).toString("hex");
const h = useGateway({ config: { metricsToken: METRICS_TOKEN } });
let tenantId = "";
let exposition = "";
let families: Family[] = [];

const promtool = spawnSync("promtool", ["--version"], { encoding: "utf8" });
const hasPromtool = promtool.status === 0;

beforeAll(async () => {
  const t = await createTenant(h);
  tenantId = t.tenant.id;
  const episode = await h.request("/v1/episodes", { method: "POST", key: t.key, body: episodeInput() });
  await h.request(`/v1/episodes/${episode.body.episode.id}`, { key: t.key });
  await h.request(`/v1/episodes/${randomUUID()}`, { key: t.key });
  await h.request("/v1/episodes/not-a-uuid", { key: t.key });
  await h.request(`/v1/unknown/${tenantId}`);
  await h.request("/health");
  const res = await h.request("/metrics", { key: METRICS_TOKEN });
  expect(res.status).toBe(200);
  exposition = res.text;
  families = parseExposition(exposition);
});

const family = (name: string) => families.find((f) => f.name === name);

describe("/metrics", () => {
  it("shows the triple index as aggregates only unless the operator opts in", () => {
    expect(family("cybernetic_indicators")?.type).toBe("gauge");
    expect(family("cybernetic_indicator_index_mean")?.type).toBe("gauge");
    expect(family("cybernetic_indicator_index")).toBeUndefined();
  });

  it("requires the bearer token when METRICS_TOKEN is set", async () => {
    const anonymous = await h.request("/metrics");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.error.code).toBe("unauthorized");
    expect((await h.request("/metrics", { key: "wrong-token-wrong-token" })).status).toBe(401);
  });

  it(`passes promtool check metrics with no findings (${hasPromtool ? "promtool found" : "promtool absent: the strict parser stands in"})`, () => {
    if (hasPromtool) {
      const result = spawnSync("promtool", ["check", "metrics"], { input: exposition, encoding: "utf8" });
      expect(`${result.stdout}${result.stderr}`.trim()).toBe("");
      expect(result.status).toBe(0);
    }
    // Always: the exposition parses under the format's and the linter's naming rules.
    expect(families.length).toBeGreaterThan(20);
  });

  it("has HTTP request counts and durations by method, route template and status class", () => {
    const requests = family("cybernetic_http_requests_total");
    const duration = family("cybernetic_http_request_duration_seconds");
    expect(requests?.type).toBe("counter");
    expect(duration?.type).toBe("histogram");
    const labels = requests?.samples.map((s) => s.labels) ?? [];
    expect(labels).toContainEqual({ method: "GET", route: "/v1/episodes/:id", status_class: "2xx" });
    expect(labels).toContainEqual({ method: "GET", route: "/v1/episodes/:id", status_class: "4xx" });
    expect(labels).toContainEqual({ method: "POST", route: "/v1/episodes", status_class: "2xx" });
    expect(labels).toContainEqual({ method: "OTHER", route: "unmatched", status_class: "4xx" });
    for (const l of labels) expect(Object.keys(l).sort()).toEqual(["method", "route", "status_class"]);
  });

  it("never uses ids, raw paths or user input as label values", () => {
    const uuid = /[0-9a-f]{8}-[0-9a-f]{4}-/i;
    for (const f of families) {
      for (const s of f.samples) {
        for (const value of Object.values(s.labels)) {
          expect(value).not.toMatch(uuid);
          expect(value).not.toContain("not-a-uuid");
          expect(value).not.toContain(tenantId);
        }
      }
    }
  });

  it("registers every family the gateway promises", () => {
    for (const name of [
      "cybernetic_http_requests_in_flight",
      "cybernetic_sse_connections",
      "cybernetic_sse_events_delivered_total",
      "cybernetic_jobs_total",
      "cybernetic_queue_depth",
      "cybernetic_db_pool_connections",
      "cybernetic_db_pool_idle_connections",
      "cybernetic_db_pool_waiting_clients",
      "cybernetic_storage_bytes_total",
      "cybernetic_telegram_updates_total",
      "process_cpu_seconds_total",
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ]) {
      expect(family(name), name).toBeDefined();
    }
    expect(family("cybernetic_queue_depth")?.samples).toContainEqual({
      name: "cybernetic_queue_depth",
      labels: { queue: "episode.analyze" },
      value: 1,
    });
    for (const f of families) if (f.type === "gauge") expect(f.name.endsWith("_total"), f.name).toBe(false);
  });

  it("feeds the job, storage and Telegram counters through the metrics object", async () => {
    h.gateway.metrics.jobFinished("episode.analyze", "completed");
    h.gateway.metrics.storageBytes("in", 1024);
    h.gateway.metrics.telegramUpdate("duplicate");
    const after = parseExposition((await h.request("/metrics", { key: METRICS_TOKEN })).text);
    const get = (name: string) => after.find((f) => f.name === name)?.samples ?? [];
    expect(get("cybernetic_jobs_total")).toContainEqual({
      name: "cybernetic_jobs_total",
      labels: { queue: "episode.analyze", outcome: "completed" },
      value: 1,
    });
    expect(get("cybernetic_storage_bytes_total")).toContainEqual({
      name: "cybernetic_storage_bytes_total",
      labels: { direction: "in" },
      value: 1024,
    });
    expect(get("cybernetic_telegram_updates_total")).toContainEqual({
      name: "cybernetic_telegram_updates_total",
      labels: { outcome: "duplicate" },
      value: 1,
    });
  });

  it("uses the gateway's own registry, not prom-client's global one", async () => {
    const { register } = await import("prom-client");
    expect(await register.getSingleMetric("cybernetic_http_requests_total")).toBeUndefined();
    expect(h.gateway.metrics.registry).not.toBe(register);
  });
});

describe("the exposition parser", () => {
  it("rejects what promtool would flag", () => {
    expect(() => parseExposition("# HELP x_total a\n# TYPE x_total gauge\nx_total 1\n")).toThrow(
      /must not end in _total/,
    );
    expect(() => parseExposition("# HELP x a\n# TYPE x counter\nx 1\n")).toThrow(/must end in _total/);
    expect(() => parseExposition("# HELP x a\n# TYPE x gauge\ny 1\n")).toThrow(/does not belong/);
    expect(() => parseExposition('# HELP x a\n# TYPE x gauge\nx{a="1} 1\n')).toThrow();
    expect(() => parseExposition("# HELP x a\n# TYPE x gauge\nx one\n")).toThrow(/bad value/);
  });
});
