/**
 * The OpenAPI document is generated from the route table and the same zod schemas the services
 * validate with: every registered route is in it, every `$ref` resolves, and request bodies carry the
 * contract's constraints.
 */
import { describe, expect, it } from "vitest";
import { createEpisodeSchema } from "../../core/src/index.ts";
import { useGateway } from "./helpers/gateway-harness.ts";

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
    ]);
    expect(doc.paths["/v1/episodes/{id}"].get.parameters[0]).toMatchObject({
      name: "id",
      in: "path",
      required: true,
    });
    expect(doc.paths["/health"].get.security).toEqual([]);
  });
});
