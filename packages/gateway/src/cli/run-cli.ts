import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { CyberneticError } from "@cybernetic/core";
import { ConfigError, loadConfig } from "../config.js";
import { type CliIo, processIo, UsageError } from "./cli-io.js";
import { deadLettersCommand } from "./dead-letters-command.js";
import { COMMAND_HELP, MAIN_HELP } from "./help.js";
import { migrateCommand } from "./migrate-command.js";
import { serveCommand } from "./serve-command.js";
import { telegramCommand } from "./telegram-command.js";
import { tenantCreateCommand, tenantKeyCommand } from "./tenant-command.js";
import { workerCommand } from "./worker-command.js";

/** The gateway package's version: its package.json is `../` from the bundle in dist/, `../../` from src/cli/. */
function version(): string {
  for (const relative of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(relative, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "@cybernetic/gateway" && pkg.version) return pkg.version;
    } catch {
      // try the next
    }
  }
  return "unknown";
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
    if (command === "help" && rest[0] !== undefined) {
      if (!(rest[0] in COMMAND_HELP)) throw new UsageError(`unknown command ${JSON.stringify(rest[0])}`);
      return help(io, rest[0]);
    }
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
        if (sub !== "create" && sub !== "key")
          throw new UsageError(
            `unknown tenant command ${JSON.stringify(sub ?? "")}; try \`cybernetic tenant create <slug>\` or \`cybernetic tenant key <slug>\``,
          );
        if (!slug) throw new UsageError(`tenant ${sub} needs a <slug>`);
        if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
        const args = {
          slug,
          ...(typeof values.name === "string" ? { name: values.name } : {}),
          json: Boolean(values.json),
        };
        return sub === "create"
          ? await tenantCreateCommand(loadConfig(io.env), args, io)
          : await tenantKeyCommand(loadConfig(io.env), args, io);
      }
      case "telegram": {
        const { values, positionals } = parse(
          rest,
          {
            url: { type: "string" },
            tenant: { type: "string" },
            "drop-pending-updates": { type: "boolean" },
            "max-connections": { type: "string" },
            json: { type: "boolean" },
          },
          true,
        );
        if (values.help) return help(io, "telegram");
        const [action, ...extra] = positionals;
        if (action !== "set-webhook" && action !== "delete-webhook" && action !== "webhook-info")
          throw new UsageError(
            `unknown telegram command ${JSON.stringify(action ?? "")}; try set-webhook, delete-webhook or webhook-info`,
          );
        if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
        if (values.url !== undefined && action !== "set-webhook")
          throw new UsageError("--url is for set-webhook only");
        const max = values["max-connections"];
        const maxConnections = typeof max === "string" ? Number(max) : undefined;
        if (
          maxConnections !== undefined &&
          !(Number.isInteger(maxConnections) && maxConnections >= 1 && maxConnections <= 100)
        )
          throw new UsageError("--max-connections must be an integer from 1 to 100");
        return await telegramCommand(
          loadConfig(io.env),
          {
            action,
            ...(typeof values.url === "string" ? { url: values.url } : {}),
            ...(typeof values.tenant === "string" ? { tenant: values.tenant } : {}),
            dropPendingUpdates: Boolean(values["drop-pending-updates"]),
            ...(maxConnections === undefined ? {} : { maxConnections }),
            json: Boolean(values.json),
          },
          io,
        );
      }
      case "dead-letters": {
        const { values, positionals } = parse(rest, { limit: { type: "string" } }, true);
        if (values.help) return help(io, "dead-letters");
        const [action = "list", queue, ...extra] = positionals;
        if (action !== "list" && action !== "retry" && action !== "discard")
          throw new UsageError(
            `unknown dead-letters action ${JSON.stringify(action)}; try list, retry or discard`,
          );
        if (extra.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
        const limit = values.limit === undefined ? 100 : Number(values.limit);
        if (!Number.isInteger(limit) || limit < 1 || limit > 10_000)
          throw new UsageError("--limit must be a whole number from 1 to 10000");
        return await deadLettersCommand(
          loadConfig(io.env),
          { action, ...(queue === undefined ? {} : { queue }), limit },
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
