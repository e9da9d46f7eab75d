import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CyberneticError } from "@cybernetic/core";
import { ConfigError, loadConfig } from "../config.js";
import { type CliIo, processIo, UsageError } from "./cli-io.js";
import { COMMAND_HELP, MAIN_HELP } from "./help.js";
import { migrateCommand } from "./migrate-command.js";
import { serveCommand } from "./serve-command.js";
import { tenantCreateCommand } from "./tenant-command.js";
import { workerCommand } from "./worker-command.js";

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return "unknown";
  }
}

type OptionSpec = Record<string, { type: "boolean" | "string"; short?: string }>;

function parse(
  args: string[],
  options: OptionSpec,
  allowPositionals: boolean,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } {
  try {
    const parsed = parseArgs({
      args,
      options: { help: { type: "boolean", short: "h" }, ...options },
      allowPositionals,
      strict: true,
    });
    return {
      values: parsed.values as Record<string, string | boolean | undefined>,
      positionals: parsed.positionals,
    };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * Runs the `cybernetic` CLI with `argv` (without node and the script) and returns the exit code:
 * 0 success, 1 failure, 2 bad usage or configuration. Long-running commands (`serve`, `worker`) return
 * after a graceful shutdown.
 *
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2));
 * ```
 */
export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === undefined || command === "-h" || command === "--help" || command === "help") {
      io.out(MAIN_HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === "-v" || command === "--version") {
      io.out(`${version()}\n`);
      return 0;
    }
    switch (command) {
      case "serve": {
        const { values } = parse(rest, { "no-workers": { type: "boolean" } }, false);
        if (values.help) return help(io, "serve");
        return await serveCommand(loadConfig(io.env), { workers: !values["no-workers"] }, io);
      }
      case "worker": {
        const { values } = parse(rest, {}, false);
        if (values.help) return help(io, "worker");
        return await workerCommand(loadConfig(io.env), io);
      }
      case "migrate": {
        const { values } = parse(
          rest,
          { status: { type: "boolean" }, "print-sql": { type: "boolean" } },
          false,
        );
        if (values.help) return help(io, "migrate");
        if (values.status && values["print-sql"]) throw new UsageError("use either --status or --print-sql");
        return await migrateCommand(
          loadConfig(io.env),
          { status: Boolean(values.status), printSql: Boolean(values["print-sql"]) },
          io,
        );
      }
      case "tenant": {
        const { values, positionals } = parse(
          rest,
          { name: { type: "string" }, json: { type: "boolean" } },
          true,
        );
        if (values.help) return help(io, "tenant");
        const [sub, slug, ...extra] = positionals;
        if (sub !== "create")
          throw new UsageError(
            `unknown tenant command ${JSON.stringify(sub ?? "")}; try \`cybernetic tenant create <slug>\``,
          );
        if (!slug) throw new UsageError("tenant create needs a <slug>");
        if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
        return await tenantCreateCommand(
          loadConfig(io.env),
          {
            slug,
            ...(typeof values.name === "string" ? { name: values.name } : {}),
            json: Boolean(values.json),
          },
          io,
        );
      }
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`cybernetic: ${error.message}\nRun \`cybernetic --help\` for usage.\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      io.err(`cybernetic: ${error.message}\nSee docs/configuration.md.\n`);
      return 2;
    }
    // Our own errors carry a one-line, credential-free message (e.g. "cannot reach PostgreSQL at
    // db:5432/x: ECONNREFUSED"); anything else gets its message too, without a stack.
    const message =
      CyberneticError.isInstance(error) || error instanceof Error ? error.message : String(error);
    io.err(`cybernetic: ${message}\n`);
    return 1;
  }
}

function help(io: CliIo, command: string): number {
  io.out(COMMAND_HELP[command] ?? MAIN_HELP);
  return 0;
}
