#!/usr/bin/env node
/**
 * The `cybernetic` command: `serve`, `worker`, `migrate`, `tenant create`. See `cybernetic --help` and
 * docs/configuration.md.
 */
import { runCli } from "./cli/run-cli.js";
import { tuneRuntimeForServing } from "./runtime-tuning.js";

const args = process.argv.slice(2);
// The long-running commands: V8 settings for a request server (see tuneRuntimeForServing).
if (args[0] === "serve" || args[0] === "worker") tuneRuntimeForServing();
const code = await runCli(args);
// Long-running commands have already closed everything; exiting explicitly also ends what a
// dependency may have left behind (an unref'd timer is fine, a stray socket is not).
process.exit(code);
