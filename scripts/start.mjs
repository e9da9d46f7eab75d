#!/usr/bin/env node
// `pnpm start [-- serve options]`: builds what changed (scripts/build-if-stale.mjs), then runs the
// gateway's `cybernetic serve` in this same process. In-process on purpose: a Ctrl-C in a terminal
// signals the whole foreground process group, so a launcher that forwarded it to a child would deliver
// it twice, and the second one means "stop now, without waiting".
import { buildIfStale } from "./build-if-stale.mjs";

try {
  await buildIfStale();
} catch (error) {
  process.stderr.write(`pnpm start: ${error.message}\n`);
  process.exit(1);
}
const { runCli } = await import("../packages/gateway/dist/index.js");
const code = await runCli(["serve", ...process.argv.slice(2)]);
process.exit(code);
