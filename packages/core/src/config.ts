import { z } from "zod";
import { validationError } from "./errors.js";
import { zodIssues } from "./internal/validation.js";

const sslModes = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full", "no-verify"] as const;

const postgresUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: "custom", message: "must be a URL like postgres://user:pass@host:5432/db" });
    return;
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    ctx.addIssue({ code: "custom", message: `must use postgres:// or postgresql://, not ${url.protocol}//` });
  }
  if (!url.hostname && !url.searchParams.get("host")) {
    ctx.addIssue({ code: "custom", message: "must name a host" });
  }
  const sslmode = url.searchParams.get("sslmode");
  if (sslmode !== null && !(sslModes as readonly string[]).includes(sslmode)) {
    ctx.addIssue({ code: "custom", message: `sslmode must be one of ${sslModes.join(", ")}` });
  }
});

/** The values of `DatabaseConfig.pooler`. */
export const databasePoolers = ["auto", "none", "transaction"] as const;

/** The schema of `DatabaseConfig`; invalid input fails naming the field. */
export const databaseConfigSchema = z
  .object({
    /** Runtime connection: a role that is not the owner and cannot bypass row-level security. */
    url: postgresUrl,
    /** Owner connection, used for migrations only. Defaults to `url`. */
    ownerUrl: postgresUrl.optional(),
    /**
     * The runtime role connecting to PostgreSQL itself, past any connection pooler: for the sessions a
     * transaction pooler cannot keep (the event bus's LISTEN, the job queue). Defaults to `url`. Setting it
     * to another URL than `url` tells `pooler: "auto"` that `url` goes through a pooler.
     */
    directUrl: postgresUrl.optional(),
    /**
     * What stands between `url` and PostgreSQL. `"none"`: the tenant context is a statement each connection
     * prepares once, and the timeouts are startup parameters. `"transaction"`: a transaction-mode pooler
     * (PgBouncer of any version, Supavisor, RDS Proxy…) that may hand each transaction another server
     * connection: the context is an unnamed statement that also sets the timeouts for its transaction, and
     * no startup parameter is sent. `"auto"` (the default): `"transaction"` when `directUrl` differs from
     * `url`; otherwise `"none"`, switching to the unnamed context the first time a prepared one turns out
     * missing or duplicated on the server (which only a pooler sharing server connections causes).
     */
    pooler: z.enum(databasePoolers).default("auto"),
    poolSize: z.number().int().min(1).max(500).default(10),
    /** Every statement is cancelled after this long (PostgreSQL `statement_timeout`). */
    statementTimeoutMs: z.number().int().min(0).max(3_600_000).default(30_000),
    /** A transaction left idle this long is ended by the server. */
    idleInTransactionTimeoutMs: z.number().int().min(0).max(3_600_000).default(60_000),
    connectionTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
    applicationName: z.string().min(1).max(63).default("cybernetic"),
  })
  .strict();

/** Input accepted by `parseDatabaseConfig` (defaults optional). */
export type DatabaseConfigInput = z.input<typeof databaseConfigSchema>;
/** A validated database configuration. TLS comes from the URL's `sslmode`. */
export type DatabaseConfig = z.output<typeof databaseConfigSchema>;

/**
 * Validates a database configuration, filling defaults.
 *
 * @example
 * ```ts
 * const config = parseDatabaseConfig({ url: "postgres://app:secret@db:5432/cybernetic?sslmode=verify-full" });
 * config.statementTimeoutMs; // 30000
 * ```
 * @throws CyberneticError `validation_failed` naming the offending field.
 */
export function parseDatabaseConfig(input: unknown): DatabaseConfig {
  const result = databaseConfigSchema.safeParse(input);
  if (!result.success) {
    const issues = zodIssues(result.error);
    throw validationError(
      `invalid database config: ${issues.map((i) => `${i.path || "(root)"}: ${i.message}`).join("; ")}`,
      issues,
    );
  }
  return result.data;
}

/**
 * Describes a connection URL for logs and errors: `host:port/database`, never the password.
 *
 * @example
 * ```ts
 * describeDatabaseUrl("postgres://app:secret@db:5432/x"); // "db:5432/x"
 * ```
 */
export function describeDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    const host = u.hostname || u.searchParams.get("host") || "localhost";
    return `${host}:${u.port || "5432"}${u.pathname || ""}`;
  } catch {
    return "(unparseable database URL)";
  }
}
