#!/usr/bin/env node
// `pnpm cybernetic <command> …` from the repository root: the `cybernetic` CLI of packages/gateway,
// after building what changed (scripts/build-if-stale.mjs). Run in this process, like scripts/start.mjs.
import { buildIfStale } from "./build-if-stale.mjs";

try {
  await buildIfStale();
} catch (error) {
  process.stderr.write(`pnpm cybernetic: ${error.message}\n`);
  process.exit(1);
}
const { runCli } = await import("../packages/gateway/dist/index.js");
process.exit(await runCli(process.argv.slice(2)));
