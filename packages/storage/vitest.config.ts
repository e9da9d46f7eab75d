// Runs the storage tests on their own (no global setup, which this package does not need):
//   npx vitest run packages/storage --config packages/storage/vitest.config.ts
import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@cybernetic\/storage\/testing$/, replacement: here("./src/testing/index.ts") },
      { find: /^@cybernetic\/storage$/, replacement: here("./src/index.ts") },
    ],
  },
  test: {
    root: here("."),
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
