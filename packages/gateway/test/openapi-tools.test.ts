/**
 * The served OpenAPI document works in the tools people feed it to: `openapi-typescript` generates
 * types from it (and a small program type-checks against them), Redocly's `lint` with its recommended
 * rules and Spectral's `spectral:oas` ruleset report no errors. The tools are the repository's pinned
 * devDependencies, spawned from node_modules as a user would run them.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventDataSchemas, eventTypes } from "../../core/src/index.ts";
import { type Body, useGateway } from "./helpers/gateway-harness.ts";

const h = useGateway();
const bin = (name: string) => fileURLToPath(new URL(`../../../node_modules/.bin/${name}`, import.meta.url));
const TOOL_TIMEOUT_MS = 120_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion; a non-zero exit is a result, not an exception. */
function run(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd,
        timeout: TOOL_TIMEOUT_MS,
        maxBuffer: 64 * 1024 * 1024,
        // No update checks or telemetry: the tools must not need the network.
        env: {
          ...process.env,
          REDOCLY_TELEMETRY: "off",
          REDOCLY_SUPPRESS_UPDATE_NOTICE: "true",
          NO_COLOR: "1",
        },
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== "number") reject(error);
        else resolve({ code: typeof error?.code === "number" ? error.code : 0, stdout, stderr });
      },
    );
  });
}

let dir: string;
let doc: Body;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cybernetic-openapi-"));
  doc = (await h.request("/openapi.json")).body;
  await writeFile(join(dir, "openapi.json"), JSON.stringify(doc, null, 2));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the OpenAPI document's own shape", () => {
  it("has one named Error schema, one JSON value schema, and only components something uses", () => {
    const schemas = doc.components.schemas as Record<string, Body>;
    expect(schemas.Error.$ref).toBeUndefined();
    expect(schemas.Error.required).toEqual(["error", "requestId"]);
    expect(Object.keys(schemas).filter((name) => /^Json\d+$/.test(name))).toEqual([]);
    expect(schemas.JsonValue.anyOf).toHaveLength(6);

    // Every component is referenced (`CyberneticEvent` by the event stream, `GET /v1/events`).
    const text = JSON.stringify(doc);
    const referenced = new Set([...text.matchAll(/"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]));
    expect(Object.keys(schemas).sort()).toEqual([...referenced].sort());
  });

  it("describes every event type's data, from core's event registry", () => {
    const schemas = doc.components.schemas as Record<string, Body>;
    const variants = (schemas.CyberneticEvent.anyOf as { $ref: string }[]).map((v) =>
      v.$ref.slice("#/components/schemas/".length),
    );
    const types = variants.map((name) => schemas[name].properties.type.const ?? "custom.*");
    expect(types.sort()).toEqual([...eventTypes, "custom.*"].sort());
    const shape = eventDataSchemas["episode.analyzed"].shape;
    expect(Object.keys(schemas.EpisodeAnalyzedEvent.properties.data.properties)).toEqual(Object.keys(shape));
    expect(schemas.EpisodeAnalyzedEvent.properties.data.required).toEqual(
      Object.entries(shape)
        .filter(([, field]) => !field.safeParse(undefined).success)
        .map(([key]) => key),
    );
  });

  it("gives every operation a summary and a description, and every tag a description", () => {
    const operations = Object.values(doc.paths as Record<string, Record<string, Body>>).flatMap(
      Object.values,
    );
    expect(operations.length).toBeGreaterThan(20);
    for (const op of operations) {
      expect(op.summary, op.operationId).toMatch(/\S/);
      expect(op.description, op.operationId).toMatch(/\S/);
    }
    for (const tag of doc.tags) expect(tag.description, tag.name).toMatch(/\S/);
  });
});

describe("the OpenAPI document in the tools", () => {
  it(
    "generates TypeScript types with openapi-typescript, and a program type-checks against them",
    async () => {
      const generated = await run(bin("openapi-typescript"), ["openapi.json", "-o", "api.d.ts"], dir);
      expect(generated.code, generated.stderr).toBe(0);
      await writeFile(
        join(dir, "program.ts"),
        `import type { components, paths } from "./api";

type Episode = components["schemas"]["Episode"];
type CreateEpisode = paths["/v1/episodes"]["post"]["requestBody"]["content"]["application/json"];
type Created = paths["/v1/episodes"]["post"]["responses"][201]["content"]["application/json"];
type NotFound = paths["/v1/episodes/{id}"]["get"]["responses"][404]["content"]["application/json"];

const body: CreateEpisode = { title: "Line 3 stopped", tags: ["ops"] };
const error: NotFound = { error: { code: "not_found", message: "no such episode" }, requestId: "r1" };
const state: components["schemas"]["SystemState"]["state"] = { nested: { list: [1, "two", null] } };
export function riskOf(result: Created): Episode["status"] {
  return result.episode.status;
}
type Schemas = components["schemas"];
// Each event type is its own schema; a union of them narrows on \`type\`. (The custom one's type is a
// pattern, which TypeScript cannot tell apart from a built-in name, so it stays out of this union.)
type EpisodeOutcome = Schemas["EpisodeAnalyzedEvent"] | Schemas["EpisodeFailedEvent"];
export function outcomeOf(event: EpisodeOutcome): string | null {
  return event.type === "episode.analyzed" ? event.data.risk : event.data.error;
}
export const anyEvent: Schemas["CyberneticEvent"][] = [];
// @ts-expect-error an episode's status is one of its enum values
const wrong: Episode["status"] = "unknown";
// @ts-expect-error the title is required
const missing: CreateEpisode = { content: "no title" };
export const values = [body, error, state, wrong, missing];
`,
      );
      const checked = await run(
        process.execPath,
        [
          bin("../typescript/bin/tsc"),
          "--noEmit",
          "--strict",
          "--exactOptionalPropertyTypes",
          "--target",
          "es2022",
          "--module",
          "esnext",
          "--moduleResolution",
          "bundler",
          "program.ts",
        ],
        dir,
      );
      expect(checked.code, checked.stdout + checked.stderr).toBe(0);
    },
    TOOL_TIMEOUT_MS,
  );

  it(
    "passes Redocly's lint with the recommended rules (no errors)",
    async () => {
      const linted = await run(
        bin("redocly"),
        ["lint", "--extends=recommended", "--format=json", "openapi.json"],
        dir,
      );
      const report = JSON.parse(linted.stdout.slice(linted.stdout.indexOf("{"))) as {
        problems: { severity: string; ruleId: string; message: string }[];
      };
      const errors = report.problems.filter((p) => p.severity === "error");
      expect(errors.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
      expect(linted.code, linted.stderr).toBe(0);
    },
    TOOL_TIMEOUT_MS,
  );

  it(
    "passes Spectral's spectral:oas ruleset (no errors)",
    async () => {
      await writeFile(join(dir, ".spectral.json"), JSON.stringify({ extends: ["spectral:oas"] }));
      const linted = await run(
        bin("spectral"),
        ["lint", "--ruleset", ".spectral.json", "--format", "json", "--quiet", "openapi.json"],
        dir,
      );
      const results = JSON.parse(linted.stdout.trim() || "[]") as {
        severity: number;
        code: string;
        message: string;
        path: string[];
      }[];
      // Spectral's severities: 0 error, 1 warning, 2 info, 3 hint.
      const errors = results.filter((r) => r.severity === 0);
      expect(errors.map((r) => `${r.code} at ${r.path.join(".")}: ${r.message}`)).toEqual([]);
      expect(linted.code, linted.stderr).toBe(0);
    },
    TOOL_TIMEOUT_MS,
  );
});
