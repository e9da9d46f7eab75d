import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  // Relative asset URLs: the build works wherever it is served (the gateway serves it at /dashboard/).
  base: "./",
  resolve: {
    // The workspace's client from its sources, as the repository's tests and type-check use it, so the
    // dashboard builds without building the packages first. An app of your own installs
    // @cybernetic/client from npm and needs no alias.
    alias: {
      "@cybernetic/client": fileURLToPath(new URL("../../packages/client/src/index.ts", import.meta.url)),
    },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true },
});
