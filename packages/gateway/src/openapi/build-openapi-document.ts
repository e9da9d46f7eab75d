import { type ErrorCode, errorCatalog } from "@cybernetic/core";
import { z } from "zod";
import type { AnyRoute } from "../route-definition.js";
import { errorSchema } from "./resource-schemas.js";

type JsonSchema = Record<string, unknown>;

/** Error codes every route of a kind can answer with, on top of its own `errors`. */
function impliedErrors(route: AnyRoute): ErrorCode[] {
  const codes: ErrorCode[] = ["internal"];
  if (route.auth === "admin" || route.auth === "tenant")
    codes.push("unauthorized", "forbidden", "rate_limited");
  if (route.auth === "metrics") codes.push("unauthorized");
  if (route.body)
    codes.push("validation_failed", "invalid_json", "payload_too_large", "unsupported_media_type");
  if (route.params) codes.push("validation_failed");
  if (route.streamBody) codes.push("payload_too_large");
  return codes;
}

/**
 * Converts zod schemas to OpenAPI 3.1 schemas (JSON Schema 2020-12), collecting every named or
 * recursive sub-schema into `components.schemas`. zod puts those in a local `$defs`, whose
 * `#/$defs/…` references would resolve against the document root; they are moved to components and the
 * references rewritten.
 */
class SchemaCollector {
  readonly components: Record<string, JsonSchema> = {};
  #anonymous = 0;

  convert(schema: z.ZodType, io: "input" | "output"): JsonSchema {
    const generated = z.toJSONSchema(schema, {
      io,
      unrepresentable: "any",
      target: "draft-2020-12",
    }) as JsonSchema;
    const defs = (generated.$defs ?? {}) as Record<string, JsonSchema>;
    delete generated.$defs;
    delete generated.$schema;
    const renames = new Map<string, string>();
    for (const name of Object.keys(defs)) {
      // Named schemas (`.meta({ id })`) keep their name, in their input or output shape; anonymous
      // recursive ones (zod's `__schemaN`) get a unique name.
      const base = name.startsWith("__schema") ? `Json${++this.#anonymous}` : name;
      renames.set(name, io === "input" && !name.startsWith("__schema") ? `${base}Input` : base);
    }
    const rewrite = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(rewrite);
      if (node === null || typeof node !== "object") return node;
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) {
        if (key === "$ref" && typeof value === "string" && value.startsWith("#/$defs/")) {
          const target = renames.get(value.slice("#/$defs/".length)) ?? value;
          out[key] = `#/components/schemas/${target}`;
        } else out[key] = rewrite(value);
      }
      return out;
    };
    for (const [name, def] of Object.entries(defs)) {
      this.components[renames.get(name) as string] = rewrite(def) as JsonSchema;
    }
    return rewrite(generated) as JsonSchema;
  }
}

/** `/v1/episodes/:id` → `/v1/episodes/{id}`; a catch-all `/**:path` → `/{path}`. */
export function toOpenApiPath(path: string): string {
  return path.replace(/(?:\*\*)?:([A-Za-z0-9_]+)/g, "{$1}");
}

/** Options of `buildOpenApiDocument`. */
export interface OpenApiInfo {
  title?: string;
  version?: string;
}

/**
 * Builds the OpenAPI 3.1 document from the route table: paths, parameters, request bodies (from the
 * same zod schemas the services validate with), responses and security. Nothing is written by hand, so
 * the document cannot drift from what the gateway serves.
 *
 * @example
 * ```ts
 * const doc = buildOpenApiDocument(routes, { version: "0.1.0" });
 * doc.paths["/v1/episodes"].post.requestBody;
 * ```
 */
export function buildOpenApiDocument(routes: readonly AnyRoute[], info: OpenApiInfo = {}) {
  const collector = new SchemaCollector();
  collector.components.Error = collector.convert(errorSchema, "output");
  const paths: Record<string, Record<string, unknown>> = {};

  for (const route of routes) {
    const parameters: unknown[] = [];
    const addParameters = (schema: z.ZodType | undefined, where: "path" | "query") => {
      if (!schema) return;
      const json = collector.convert(schema, "input");
      const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
      const required = new Set((json.required ?? []) as string[]);
      for (const [name, property] of Object.entries(properties)) {
        parameters.push({
          name,
          in: where,
          required: where === "path" || required.has(name),
          schema: property,
          ...(typeof property.description === "string" ? { description: property.description } : {}),
        });
      }
    };
    addParameters(route.params, "path");
    addParameters(route.query, "query");

    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema
          ? {
              content: {
                [response.contentType ?? "application/json"]: {
                  schema: collector.convert(response.schema, "output"),
                },
              },
            }
          : {}),
      };
    }
    const errorCodes = [...new Set([...impliedErrors(route), ...(route.errors ?? [])])];
    const byStatus = new Map<number, string[]>();
    for (const code of errorCodes) {
      const status = errorCatalog[code];
      byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
    }
    for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
      if (responses[status] !== undefined) continue;
      responses[status] = {
        description: `Error: ${codes.join(", ")}`,
        content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      };
    }

    const security =
      route.auth === "admin" || route.auth === "tenant"
        ? [{ bearerAuth: [] }, { apiKeyHeader: [] }]
        : route.auth === "metrics"
          ? [{ metricsToken: [] }, {}]
          : [];

    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      tags: [route.tag],
      security,
      "x-cybernetic-auth": route.auth,
      ...(route.auth === "tenant"
        ? {
            "x-cybernetic-scope":
              route.scope ?? (route.method === "GET" || route.method === "HEAD" ? "read" : "write"),
          }
        : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: route.bodyRequired !== false,
              content: { "application/json": { schema: collector.convert(route.body, "input") } },
            },
          }
        : {}),
      ...(route.streamBody
        ? {
            requestBody: {
              required: true,
              description: route.streamBody.description,
              content: {
                "*/*": { schema: { type: "string", contentMediaType: "application/octet-stream" } },
              },
            },
          }
        : {}),
      responses,
    };
    const path = toOpenApiPath(route.path);
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[route.method.toLowerCase()] = operation;
  }

  return {
    openapi: "3.1.0",
    info: {
      title: info.title ?? "Cybernetic API",
      version: info.version ?? "0.0.0",
      description:
        "Multi-tenant Viable System Model platform. Errors are `{ error: { code, message, details? }, requestId }`; " +
        "every response carries `x-request-id`. Lists are cursor-paginated (`?limit=&cursor=` → `{ items, nextCursor }`).",
    },
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({ name })),
    paths,
    components: {
      schemas: collector.components,
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          description: "A tenant API key (`cyb_…`) or the admin key",
        },
        apiKeyHeader: { type: "apiKey", in: "header", name: "x-api-key" },
        metricsToken: { type: "http", scheme: "bearer", description: "METRICS_TOKEN, when configured" },
      },
    },
  };
}
