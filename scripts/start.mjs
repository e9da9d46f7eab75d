#!/usr/bin/env node
// `pnpm start`: runs the gateway's CLI `serve` from the built packages (see packages/gateway).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("../packages/gateway/dist/cli.js", import.meta.url));
const child = spawn(process.execPath, [cli, "serve", ...process.argv.slice(2)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
