import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const src = (pkg: string, file = "index.ts") =>
  fileURLToPath(new URL(`./packages/${pkg}/src/${file}`, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the sources; `test/dist.test.ts` re-tests the built packages.
    alias: [
      { find: /^@cybernetic\/core\/contract$/, replacement: src("core", "contract/index.ts") },
      { find: /^@cybernetic\/core$/, replacement: src("core") },
      { find: /^@cybernetic\/storage\/testing$/, replacement: src("storage", "testing/index.ts") },
      { find: /^@cybernetic\/storage$/, replacement: src("storage") },
      { find: /^@cybernetic\/workers$/, replacement: src("workers") },
      { find: /^@cybernetic\/gateway$/, replacement: src("gateway") },
      { find: /^@cybernetic\/client$/, replacement: src("client") },
    ],
  },
  test: {
    include: [
      "packages/*/src/**/*.test.ts",
      "packages/*/test/**/*.test.ts",
      "examples/*/test/**/*.test.ts",
      "test/**/*.test.ts",
    ],
    globalSetup: ["./test/setup/global-setup.ts"],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Files at once. vitest's default is one less than the CPUs: a single file at a time on CI's two
    // cores. The files mostly wait (on PostgreSQL, on child processes, on sockets), so three overlap
    // well there; VITEST_MAX_WORKERS overrides.
    maxWorkers: Number(process.env.VITEST_MAX_WORKERS ?? 3),
    reporters: ["default", ["json", { outputFile: ".vitest-report.json" }]],
    coverage: {
      provider: "v8",
      include: ["packages/*/src/**/*.ts"],
      exclude: ["**/*.test.ts", "**/testing/**"],
      reporter: ["text-summary", "json-summary"],
    },
  },
});
