/**
 * The docs say what the code does: docs/api.md is what `pnpm docs:api` renders from the OpenAPI document
 * the gateway serves, every relative link of the Markdown files points at a file that exists, the README's
 * first screen gives the two commands (start, test), and every variable docs/configuration.md documents is
 * one the configuration schema knows (and the other way round).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { environmentSchema } from "../packages/gateway/src/config.ts";
import { openApiDocument, renderApiDocs } from "../scripts/api-docs.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

function markdownFiles(): string[] {
  const found = ["README.md", ...readdirSync(join(ROOT, "packages")).map((p) => `packages/${p}/README.md`)];
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".md")) found.push(path);
    }
  };
  walk("docs");
  return found.filter((f) => existsSync(join(ROOT, f)));
}

describe("docs", () => {
  it("docs/api.md is current: what `pnpm docs:api` renders from the OpenAPI document", async () => {
    const rendered = renderApiDocs(await openApiDocument());
    expect(read("docs/api.md") === rendered, "docs/api.md is stale: run `pnpm docs:api`").toBe(true);
    // Every route is in it.
    for (const path of Object.keys((await openApiDocument()).paths))
      expect(rendered).toContain(`\`${path}\``);
  });

  it("every relative link in the Markdown files points at a file that exists", () => {
    const broken: string[] = [];
    for (const file of markdownFiles()) {
      const text = read(file).replace(/```[\s\S]*?```/g, "");
      for (const [, target] of text.replace(/`[^`\n]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) {
        if (!target || /^(https?:|mailto:|#)/.test(target)) continue;
        const path = join(ROOT, dirname(file), target.split("#")[0] as string);
        if (!existsSync(path)) broken.push(`${file}: ${target} (${relative(ROOT, path)})`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("the README's first screen says what Cybernetic is and gives the two commands, start and test", () => {
    const firstScreen = read("README.md").split("\n").slice(0, 25).join("\n");
    expect(firstScreen).toContain("Viable System Model");
    expect(firstScreen).toMatch(/^npx pnpm@12\.4\.2 install && npx pnpm@12\.4\.2 start\b/m);
    expect(firstScreen).toMatch(/^npx pnpm@12\.4\.2 install && npx pnpm@12\.4\.2 test\b/m);
    expect(JSON.parse(read("package.json")).packageManager).toBe("pnpm@12.4.2");
  });

  it("docs/configuration.md documents exactly the variables of the configuration schema", () => {
    const text = read("docs/configuration.md");
    const tables = text.slice(text.indexOf("## Variables"), text.indexOf("## Your own PostgreSQL"));
    const documented = new Set(
      [...tables.matchAll(/^\| `([A-Z][A-Z0-9_]+)`(?:, `([A-Z][A-Z0-9_]+)`)? \|/gm)].flatMap((m) =>
        [m[1], m[2]].filter((v): v is string => v !== undefined),
      ),
    );
    expect([...documented].sort()).toEqual(Object.keys(environmentSchema.shape).sort());
  });
});
