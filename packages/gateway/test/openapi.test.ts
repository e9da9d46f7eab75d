/**
 * The OpenAPI document is generated from the route table and the same zod schemas the services
 * validate with: every registered route is in it, every `$ref` resolves, and request bodies carry the
 * contract's constraints.
 */
import { describe, expect, it } from "vitest";
import type { z } from "zod";
import {
  apiErrorSchema,
  apiKeyListSchema,
  createdTenantSchema,
  createEpisodeSchema,
  episodePageSchema,
  episodeWriteResultSchema,
  jobSchema,
  systemStateListSchema,
  tenantSchema,
} from "../../core/src/index.ts";
import { ADMIN_KEY, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();

const toOpenApi = (path: string) => path.replace(/(?:\*\*)?:([A-Za-z0-9_]+)/g, "{$1}");

describe("GET /openapi.json", () => {
  it("documents every route the app registered, and nothing else", async () => {
    const doc = (await h.request("/openapi.json")).body;
    // What h3 actually has registered (minus the per-path fallbacks and the catch-all).
    const registered = (h.gateway.app as unknown as { "~routes": { method: string; route: string }[] })[
      "~routes"
    ]
      .filter((r) => r.method !== "")
      .map((r) => `${r.method.toLowerCase()} ${toOpenApi(r.route)}`)
      .sort();
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method} ${path}`))
      .sort();
    expect(registered.length).toBeGreaterThan(20);
    expect(documented).toEqual(registered);
    expect(h.gateway.routes.map((r) => `${r.method.toLowerCase()} ${toOpenApi(r.path)}`).sort()).toEqual(
      registered,
    );
  });

  it("resolves every $ref and names every operation once", async () => {
    const doc = (await h.request("/openapi.json")).body;
    const refs: string[] = [];
    const walk = (node: unknown) => {
      if (Array.isArray(node)) node.forEach(walk);
      else if (node && typeof node === "object") {
        for (const [key, value] of Object.entries(node)) {
          if (key === "$ref" && typeof value === "string") refs.push(value);
          else walk(value);
        }
      }
    };
    walk(doc);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) {
      expect(ref.startsWith("#/components/schemas/"), ref).toBe(true);
      expect(doc.components.schemas[ref.slice("#/components/schemas/".length)], ref).toBeDefined();
    }
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
      (ops) => Object.values(ops).map((op) => op.operationId),
    );
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("takes request bodies from the contract's schemas", async () => {
    const doc = (await h.request("/openapi.json")).body;
    const op = doc.paths["/v1/episodes"].post;
    const schema = op.requestBody.content["application/json"].schema;
    expect(schema.required).toEqual(["title"]);
    expect(schema.properties.title.maxLength).toBe(500);
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(createEpisodeSchema.shape).sort());
    expect(op.responses["201"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/EpisodeWriteResult",
    });
    expect(op.responses["415"]).toBeDefined();
    expect(op.security).toEqual([{ bearerAuth: [] }, { apiKeyHeader: [] }]);
    const list = doc.paths["/v1/episodes"].get;
    expect(list.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      "cursor",
      "limit",
      "status",
      "tag",
      "unitId",
    ]);
    expect(doc.paths["/v1/episodes/{id}"].get.parameters[0]).toMatchObject({
      name: "id",
      in: "path",
      required: true,
    });
    expect(doc.paths["/health"].get.security).toEqual([]);
  });

  it("documents the event stream (text/event-stream, the event union), its token and the list cursor", async () => {
    const doc = (await h.request("/openapi.json")).body;
    const stream = doc.paths["/v1/events"].get;
    const content = stream.responses["200"].content;
    expect(Object.keys(content)).toEqual(["text/event-stream"]);
    const refs = JSON.stringify(content["text/event-stream"].schema);
    for (const id of ["CyberneticEvent", "StreamConnected", "StreamResync", "StreamDisconnected"]) {
      expect(refs).toContain(`#/components/schemas/${id}`);
      expect(doc.components.schemas[id]).toBeDefined();
    }
    expect(JSON.stringify(doc.components.schemas.CyberneticEvent)).toContain("EpisodeAnalyzedEvent");
    expect(stream.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
      "last_event_id",
      "token",
      "topics",
    ]);
    expect(stream.responses["429"]).toBeDefined();
    const token = doc.paths["/v1/events/token"].post;
    expect(token.responses["201"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/StreamToken",
    });
    for (const path of ["/v1/episodes", "/v1/systems", "/v1/policies", "/v1/artifacts"]) {
      expect(doc.paths[path].get.responses["200"].headers["x-event-cursor"].schema).toEqual({
        type: "string",
      });
    }
  });
});

describe("the contract's response schemas", () => {
  /** Parses a real answer with the schema the document shows for it; the top-level keys must match too. */
  const conforms = (schema: z.ZodObject, body: unknown) => {
    const parsed = schema.safeParse(body);
    expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    expect(Object.keys(body as object).sort()).toEqual(
      Object.keys(schema.shape)
        .filter((key) => (body as Record<string, unknown>)[key] !== undefined)
        .sort(),
    );
  };

  it("describe what the gateway answers: tenants, keys, systems, episodes, jobs and errors", async () => {
    const created = await h.request("/v1/tenants", {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "Contract", slug: "contract-shapes" },
    });
    expect(created.status).toBe(201);
    conforms(createdTenantSchema, created.body);
    conforms(tenantSchema, created.body.tenant);
    const key = created.body.apiKey.key as string;
    conforms(apiKeyListSchema, (await h.request("/v1/api-keys", { key })).body);
    conforms(systemStateListSchema, (await h.request("/v1/systems", { key })).body);
    const episode = await h.request("/v1/episodes", { method: "POST", key, body: { title: "Shapes" } });
    conforms(episodeWriteResultSchema, episode.body);
    conforms(episodePageSchema, (await h.request("/v1/episodes", { key })).body);
    const job = await h.request(`/v1/jobs/${episode.body.jobId}`, { key });
    expect(job.status).toBe(200);
    conforms(jobSchema, job.body);
    conforms(apiErrorSchema, (await h.request("/v1/episodes/not-a-uuid", { key })).body);
  });
});
