import { apiErrorSchema, cyberneticEventSchema, type ErrorCode, errorCatalog } from "@cybernetic/core";
import { z } from "zod";
import {
  type AnyRoute,
  acceptsIdempotencyKey,
  IDEMPOTENCY_KEY_HEADER,
  routeTags,
} from "../route-definition.js";

type JsonSchema = Record<string, unknown>;

/** Error codes every route of a kind can answer with, on top of its own `errors`. */
function impliedErrors(route: AnyRoute): ErrorCode[] {
  const codes: ErrorCode[] = ["internal"];
  // The key look-up reads the database: when it is away, the answer is 503 with retry-after.
  if (route.auth === "admin" || route.auth === "tenant")
    codes.push("unauthorized", "forbidden", "rate_limited", "unavailable");
  if (acceptsIdempotencyKey(route)) codes.push("conflict", "idempotency_key_reused");
  if (route.auth === "metrics") codes.push("unauthorized");
  if (route.body)
    codes.push("validation_failed", "invalid_json", "payload_too_large", "unsupported_media_type");
  if (route.params) codes.push("validation_failed");
  if (route.streamBody) codes.push("payload_too_large");
  return codes;
}

/** Replaces every `$ref` of a JSON Schema tree by `map(ref)`. */
function mapRefs(node: unknown, map: (ref: string) => string): unknown {
  if (Array.isArray(node)) return node.map((item) => mapRefs(item, map));
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === "$ref" && typeof value === "string" ? map(value) : mapRefs(value, map);
  }
  return out;
}

const componentRef = "#/components/schemas/";

/**
 * The name of the JSON value schema (`z.json()`): zod emits it as an anonymous recursive definition
 * once per conversion; the collector folds every such copy into this one component.
 */
const jsonValueName = "JsonValue";

/**
 * How the document spells the JSON value schema. zod's is recursive (arrays and objects of JSON
 * values), but openapi-typescript turns a self-reference inside an array into a type TypeScript rejects
 * as circular (TS2502; openapi-typescript issue 1603). Inside a JSON body every nested value is JSON
 * anyway, so `{}` (any value) says the same, and every tool accepts it.
 */
const jsonValueComponent: JsonSchema = {
  description: "Any JSON value.",
  anyOf: [
    { type: "string" },
    { type: "number" },
    { type: "boolean" },
    { type: "null" },
    { type: "array", items: {} },
    { type: "object", additionalProperties: {} },
  ],
};

/** An anonymous definition's shape, its references to itself normalised, to recognise copies. */
function shapeOf(name: string, def: unknown): string {
  return JSON.stringify(mapRefs(def, (ref) => (ref === `#/$defs/${name}` ? "#self" : ref)));
}

const jsonValueShape = (() => {
  const defs = z.toJSONSchema(z.object({ value: z.json() })).$defs ?? {};
  const [name, def] = Object.entries(defs)[0] ?? ["", {}];
  return shapeOf(name, def);
})();

/**
 * Converts zod schemas to OpenAPI 3.1 schemas (JSON Schema 2020-12), collecting every named or
 * recursive sub-schema into `components.schemas`. zod puts those in a local `$defs`, whose
 * `#/$defs/…` references would resolve against the document root; they are moved to components and the
 * references rewritten. Anonymous recursive definitions with the same shape (every `z.json()` is one)
 * become one shared component, and `finish()` folds an input shape into its output shape when the two
 * are the same and drops what nothing references, so each component appears once and is used.
 */
class SchemaCollector {
  readonly #components: Record<string, JsonSchema> = {};
  /** Anonymous recursive definitions by shape (their self-references normalised) → component name. */
  readonly #anonymous = new Map<string, string>();

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
    for (const [name, def] of Object.entries(defs)) {
      if (name.startsWith("__schema")) {
        const shape = shapeOf(name, def);
        let target = this.#anonymous.get(shape);
        if (target === undefined) {
          target = shape === jsonValueShape ? jsonValueName : `Recursive${this.#anonymous.size + 1}`;
          this.#anonymous.set(shape, target);
        }
        renames.set(name, target);
      } else {
        // Named schemas (`.meta({ id })`) keep their name, in their input or output shape.
        renames.set(name, io === "input" ? `${name}Input` : name);
      }
    }
    const rewrite = (node: unknown) =>
      mapRefs(node, (ref) =>
        ref.startsWith("#/$defs/")
          ? `${componentRef}${renames.get(ref.slice("#/$defs/".length)) ?? ref}`
          : ref,
      );
    for (const [name, def] of Object.entries(defs)) {
      const target = renames.get(name) as string;
      this.#components[target] = target === jsonValueName ? jsonValueComponent : (rewrite(def) as JsonSchema);
    }
    return rewrite(generated) as JsonSchema;
  }

  /**
   * The components the document needs: each `XInput` identical to `X` (once their own references are
   * folded the same way) is replaced by `X`, then whatever `roots` do not reach is dropped.
   */
  finish<T>(roots: T): { roots: T; components: Record<string, JsonSchema> } {
    let components = this.#components;
    for (;;) {
      const fold = new Map<string, string>();
      for (const name of Object.keys(components)) {
        if (!name.endsWith("Input")) continue;
        const base = name.slice(0, -"Input".length);
        if (components[base] === undefined) continue;
        const asOutput = (node: unknown) =>
          JSON.stringify(
            mapRefs(node, (ref) =>
              ref.startsWith(componentRef) && ref.endsWith("Input") ? ref.slice(0, -"Input".length) : ref,
            ),
          );
        if (asOutput(components[name]) === asOutput(components[base])) fold.set(name, base);
      }
      if (fold.size === 0) break;
      const map = (ref: string) => {
        const target = fold.get(ref.slice(componentRef.length));
        return target === undefined ? ref : `${componentRef}${target}`;
      };
      const next: Record<string, JsonSchema> = {};
      for (const [name, schema] of Object.entries(components)) {
        if (!fold.has(name)) next[name] = mapRefs(schema, map) as JsonSchema;
      }
      components = next;
      roots = mapRefs(roots, map) as T;
    }
    const used = new Set<string>();
    const visit = (node: unknown) =>
      mapRefs(node, (ref) => {
        const name = ref.slice(componentRef.length);
        if (ref.startsWith(componentRef) && !used.has(name) && components[name] !== undefined) {
          used.add(name);
          visit(components[name]);
        }
        return ref;
      });
    visit(roots);
    const kept: Record<string, JsonSchema> = {};
    for (const name of Object.keys(components).sort()) {
      if (used.has(name)) kept[name] = components[name] as JsonSchema;
    }
    return { roots, components: kept };
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
  /** Default: one server at `/`, the origin the document was fetched from. */
  servers?: { url: string; description?: string }[];
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
  const errorRef = collector.convert(apiErrorSchema, "output");
  const paths: Record<string, Record<string, unknown>> = {};

  for (const route of routes) {
    const parameters: unknown[] = [];
    const addParameters = (schema: z.ZodType | undefined, where: "path" | "query" | "header") => {
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
    addParameters(route.headers, "header");
    if (acceptsIdempotencyKey(route)) {
      parameters.push({
        name: IDEMPOTENCY_KEY_HEADER,
        in: "header",
        required: false,
        description:
          "Makes a retry safe: a request repeated with the same key and the same body runs once; later ones get its first answer (`idempotent-replayed: true`). 1–255 printable ASCII characters; kept 24 hours.",
        schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
      });
    }

    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.headers
          ? {
              headers: Object.fromEntries(
                Object.entries(response.headers).map(([name, description]) => [
                  name,
                  { description, schema: { type: "string" } },
                ]),
              ),
            }
          : {}),
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
        content: { "application/json": { schema: errorRef } },
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
      description: route.description,
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

  // Every event's data, from core's event registry: the shape of what the outbox, the event bus and the
  // event stream deliver, documented whether or not a route of this table returns events.
  const events = collector.convert(cyberneticEventSchema, "output");
  const { roots, components } = collector.finish({ paths, events });
  return {
    openapi: "3.1.0",
    info: {
      title: info.title ?? "Cybernetic API",
      version: info.version ?? "0.0.0",
      license: { name: "MIT", identifier: "MIT" },
      description:
        "Multi-tenant Viable System Model platform. Errors are `{ error: { code, message, details? }, requestId }`; " +
        "every response carries `x-request-id`. Lists are cursor-paginated (`?limit=&cursor=` → `{ items, nextCursor }`). " +
        "Events are `CyberneticEvent` (`components.schemas`): one shape per `type`, each with its `data`.",
    },
    servers: info.servers ?? [{ url: "/", description: "The gateway that served this document" }],
    tags: [...new Set(routes.map((r) => r.tag))].map((name) => ({
      name,
      description: routeTags[name],
    })),
    paths: roots.paths,
    components: {
      schemas: components,
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
