/**
 * What is shipped is what is tested: every package's built `dist` (what `npm install` gives a user) is
 * imported through its `exports` map, and its export lists (values from the JavaScript, types from the
 * declarations) are compared with a committed snapshot, so an accidental export or removal shows up in
 * review. Each package's README example is type-checked against the same `dist`, as a user's program
 * would be. Run `pnpm build` first (`pnpm test` does).
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const packageNames = readdirSync(join(root, "packages")).sort();

interface PackageJson {
  name: string;
  exports: Record<string, string | { types: string; import: string }>;
}
const manifest = (name: string) =>
  JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8")) as PackageJson;

/** The newest modification time of the files under `dir` (recursively). */
function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

/** Names a declaration file exports: tsup writes one `export { a, type B, … };` statement. */
function declaredTypes(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const names: string[] = [];
  for (const match of text.matchAll(/^export \{([^}]*)\};?$/gm)) {
    for (const raw of (match[1] as string).split(",")) {
      const name = raw.trim();
      if (name.startsWith("type ")) names.push(name.slice(5).split(" as ").pop()?.trim() ?? "");
    }
  }
  return names.sort();
}

describe("the built packages", () => {
  for (const name of packageNames) {
    it(`@cybernetic/${name}: dist is built from the current sources`, () => {
      const dist = join(root, "packages", name, "dist");
      expect(existsSync(dist), `packages/${name}/dist is missing: run pnpm build`).toBe(true);
      expect(
        newest(dist),
        `packages/${name}/dist is older than its src: run pnpm build`,
      ).toBeGreaterThanOrEqual(newest(join(root, "packages", name, "src")));
    });
  }

  it("export what the snapshot lists, from each entry point of each package", async () => {
    const exported: Record<string, { values: string[]; types: string[] }> = {};
    for (const name of packageNames) {
      const pkg = manifest(name);
      for (const [subpath, target] of Object.entries(pkg.exports)) {
        if (typeof target === "string") continue; // ./package.json
        const module = (await import(
          pathToFileURL(join(root, "packages", name, target.import)).href
        )) as object;
        exported[`${pkg.name}${subpath.slice(1)}`] = {
          values: Object.keys(module).sort(),
          types: declaredTypes(join(root, "packages", name, target.types)),
        };
      }
    }
    await expect(`${JSON.stringify(exported, null, 2)}\n`).toMatchFileSnapshot(
      "./dist-exports.snapshot.json",
    );
  });
});

describe("the package READMEs", () => {
  const dir = mkdtempSync(join(tmpdir(), "cybernetic-readme-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("each has a first TypeScript example, and so has its page in docs/packages/, that type-check against the built packages", async () => {
    // A user's project: node_modules/@cybernetic/* are the packages (their dist and exports maps).
    await mkdir(join(dir, "node_modules", "@cybernetic"), { recursive: true });
    for (const name of packageNames)
      symlinkSync(join(root, "packages", name), join(dir, "node_modules", "@cybernetic", name), "dir");
    symlinkSync(join(root, "node_modules", "@types"), join(dir, "node_modules", "@types"), "dir");
    await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
    const files: string[] = [];
    for (const name of packageNames) {
      const readme = readFileSync(join(root, "packages", name, "README.md"), "utf8");
      expect(readme, `${name}: install`).toContain(`npm install @cybernetic/${name}`);
      expect(readme, `${name}: a link to the docs`).toMatch(/\]\(\.\.\/\.\.\/docs\/[a-z-]+\.md\)/);
      const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
      expect(example, `${name}: a TypeScript example`).toBeDefined();
      files.push(`${name}.ts`);
      await writeFile(join(dir, `${name}.ts`), `${example}\nexport {};\n`);
      // The package's page in docs/packages/: every TypeScript example on it, each a program of its own.
      const page = readFileSync(join(root, "docs", "packages", `${name}.md`), "utf8");
      const examples = [...page.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);
      expect(examples.length, `docs/packages/${name}.md: a TypeScript example`).toBeGreaterThan(0);
      for (const [i, code] of examples.entries()) {
        files.push(`docs-${name}-${i}.ts`);
        await writeFile(join(dir, `docs-${name}-${i}.ts`), `${code}\nexport {};\n`);
      }
    }
    await writeFile(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          lib: ["ES2023"],
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ["node"],
        },
        files,
      }),
    );
    const result = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.json"],
        { cwd: dir, timeout: 120_000 },
        (error, stdout, stderr) =>
          resolve({
            code: typeof error?.code === "number" ? error.code : error ? 1 : 0,
            output: stdout + stderr,
          }),
      );
    });
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  }, 120_000);
});
