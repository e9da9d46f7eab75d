#!/usr/bin/env node
/**
 * The `cybernetic` command: `serve`, `worker`, `migrate`, `tenant create`. See `cybernetic --help` and
 * docs/configuration.md.
 */
import { runCli } from "./cli/run-cli.js";

const code = await runCli(process.argv.slice(2));
// Long-running commands have already closed everything; exiting explicitly also ends what a
// dependency may have left behind (an unref'd timer is fine, a stray socket is not).
process.exit(code);
