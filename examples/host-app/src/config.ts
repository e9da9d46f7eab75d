/**
 * The host app's configuration, from environment variables. It reuses the platform's variable names and
 * meanings (docs/configuration.md), and the packages' own validation: `parseDatabaseConfig` from core
 * for the database, `createStorage` from storage (at start) for the files folder.
 */
import { resolve } from "node:path";
import { CyberneticError, type DatabaseConfig, type ErrorIssue, parseDatabaseConfig } from "@cybernetic/core";
import type { LocalStorageConfig } from "@cybernetic/storage";
import { fieldError } from "./field-error.js";
import { type LogLevel, logLevels } from "./logger.js";

/** Everything the host app needs to start. */
export interface HostAppConfig {
  /** The runtime role (`url`), optionally the owner for migrations (`ownerUrl`) and a pooler bypass (`directUrl`). */
  database: DatabaseConfig;
  /** Where uploaded files go (the local storage adapter). */
  storage: LocalStorageConfig;
  port: number;
  host: string;
  /** Largest file `PUT /files/:name` accepts, in bytes. */
  fileMaxBytes: number;
  /** On SIGTERM/SIGINT: a ceiling for the whole stop (requests, jobs, pools). */
  shutdownTimeoutMs: number;
  /** Parallel jobs per queue in this process. */
  workerConcurrency: number;
  logLevel: LogLevel;
}

/** The env variable behind each field of core's database config, to name it in errors. */
const DATABASE_VARIABLES: Record<string, string> = {
  url: "DATABASE_URL",
  ownerUrl: "DATABASE_OWNER_URL",
  directUrl: "DATABASE_DIRECT_URL",
};

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw fieldError(name, `expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  return value;
}

/**
 * Reads and validates the configuration; throws naming the first bad variable.
 *
 * | variable | default |
 * |---|---|
 * | `DATABASE_URL` | required: the runtime role (not the owner, no superuser, no BYPASSRLS) |
 * | `DATABASE_OWNER_URL` | unset: migrations are not run at start |
 * | `DATABASE_DIRECT_URL` | `DATABASE_URL` (set it when `DATABASE_URL` goes through PgBouncer) |
 * | `PORT`, `HOST` | `3000`, `127.0.0.1` |
 * | `STORAGE_LOCAL_ROOT` | `./data/files` |
 * | `ARTIFACT_MAX_BYTES` | `104857600` (100 MiB) |
 * | `SHUTDOWN_TIMEOUT_MS` | `10000` |
 * | `WORKER_CONCURRENCY` | `2` |
 * | `LOG_LEVEL` | `info` |
 *
 * @example
 * ```ts
 * const config = hostAppConfigFromEnv(process.env);
 * config.port; // 3000 unless PORT is set
 * ```
 */
export function hostAppConfigFromEnv(env: NodeJS.ProcessEnv): HostAppConfig {
  const text = (name: string) => (env[name] === "" ? undefined : env[name]);
  const url = text("DATABASE_URL");
  if (url === undefined)
    throw fieldError(
      "DATABASE_URL",
      "required: postgres://user:password@host:5432/db of the role the app runs as (see the README)",
    );
  let database: DatabaseConfig;
  try {
    const ownerUrl = text("DATABASE_OWNER_URL");
    const directUrl = text("DATABASE_DIRECT_URL");
    database = parseDatabaseConfig({
      url,
      ...(ownerUrl === undefined ? {} : { ownerUrl }),
      ...(directUrl === undefined ? {} : { directUrl }),
      applicationName: "host-app",
    });
  } catch (error) {
    const issue = CyberneticError.isInstance(error)
      ? (error.details as { issues?: ErrorIssue[] } | undefined)?.issues?.[0]
      : undefined;
    if (!issue) throw error;
    throw fieldError(DATABASE_VARIABLES[issue.path] ?? issue.path, issue.message);
  }
  const level = text("LOG_LEVEL") ?? "info";
  if (!(logLevels as readonly string[]).includes(level))
    throw fieldError("LOG_LEVEL", `expected one of ${logLevels.join(", ")}`);
  return {
    database,
    storage: { driver: "local", root: resolve(text("STORAGE_LOCAL_ROOT") ?? "data/files") },
    port: integer(env, "PORT", 3000, 0, 65_535),
    host: text("HOST") ?? "127.0.0.1",
    fileMaxBytes: integer(env, "ARTIFACT_MAX_BYTES", 100 * 1024 * 1024, 1, 5 * 1024 ** 4),
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 10_000, 100, 600_000),
    workerConcurrency: integer(env, "WORKER_CONCURRENCY", 2, 1, 1_000),
    logLevel: level as LogLevel,
  };
}
