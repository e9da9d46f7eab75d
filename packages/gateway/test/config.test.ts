/** `loadConfig`: one validated object from the environment; a bad value names its variable. */
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/index.ts";

const fails = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected loadConfig to fail");
};

describe("loadConfig", () => {
  it("fills every default", () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: "127.0.0.1",
      dataDir: resolve(".cybernetic"),
      database: { url: undefined, poolSize: 10 },
      storage: { driver: "local", localRoot: resolve(".cybernetic", "files") },
      logLevel: "info",
      gateway: {
        adminKey: undefined,
        corsOrigins: [],
        rateLimit: { perSecond: 50, burst: 100, maxKeys: 10_000 },
        bodyLimitBytes: 2 * 1024 * 1024,
        apiKeyCacheTtlMs: 5_000,
        shutdownTimeoutMs: 10_000,
      },
    });
  });

  it("reads every documented variable", () => {
    const config = loadConfig({
      PORT: "9000",
      HOST: "0.0.0.0",
      DATABASE_URL: "postgres://app:pw@db:5432/cyb",
      DATABASE_OWNER_URL: "postgresql://owner:pw@db/cyb",
      CYBERNETIC_ADMIN_KEY: "a".repeat(40),
      CYBERNETIC_DATA_DIR: "/var/lib/cybernetic",
      STORAGE_DRIVER: "s3",
      S3_BUCKET: "cyb-files",
      S3_ENDPOINT: "http://minio:9000",
      S3_REGION: "eu-west-1",
      S3_ACCESS_KEY_ID: "AKIA",
      S3_SECRET_ACCESS_KEY: "secret",
      S3_FORCE_PATH_STYLE: "true",
      TELEGRAM_BOT_TOKEN: `123456:${"A".repeat(35)}`,
      TELEGRAM_WEBHOOK_SECRET: "s".repeat(32),
      TELEGRAM_API_BASE_URL: "http://127.0.0.1:9999",
      METRICS_TOKEN: "m".repeat(20),
      LOG_LEVEL: "debug",
      SHUTDOWN_TIMEOUT_MS: "2500",
      CORS_ORIGINS: "https://app.example.com, http://localhost:5173",
      RATE_LIMIT_PER_SECOND: "2.5",
      RATE_LIMIT_BURST: "10",
      RATE_LIMIT_MAX_KEYS: "500",
      BODY_LIMIT_BYTES: "65536",
      API_KEY_CACHE_TTL_MS: "0",
      READY_TIMEOUT_MS: "500",
      WORKER_CONCURRENCY: "8",
    });
    expect(config.port).toBe(9000);
    expect(config.storage.s3).toMatchObject({
      bucket: "cyb-files",
      forcePathStyle: true,
      region: "eu-west-1",
    });
    expect(config.gateway.corsOrigins).toEqual(["https://app.example.com", "http://localhost:5173"]);
    expect(config.gateway.rateLimit).toEqual({ perSecond: 2.5, burst: 10, maxKeys: 500 });
    expect(config.gateway.apiKeyCacheTtlMs).toBe(0);
    expect(config.telegram.apiBaseUrl).toBe("http://127.0.0.1:9999");
    expect(config.workerConcurrency).toBe(8);
  });

  it.each([
    ["PORT", { PORT: "70000" }],
    ["PORT", { PORT: "eighty" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://db/x" }],
    ["CYBERNETIC_ADMIN_KEY", { CYBERNETIC_ADMIN_KEY: "short" }],
    ["STORAGE_DRIVER", { STORAGE_DRIVER: "ftp" }],
    ["S3_BUCKET", { STORAGE_DRIVER: "s3" }],
    ["S3_SECRET_ACCESS_KEY", { S3_ACCESS_KEY_ID: "AKIA" }],
    ["S3_FORCE_PATH_STYLE", { S3_FORCE_PATH_STYLE: "maybe" }],
    ["TELEGRAM_BOT_TOKEN", { TELEGRAM_BOT_TOKEN: "nope" }],
    ["TELEGRAM_WEBHOOK_SECRET", { TELEGRAM_WEBHOOK_SECRET: "has spaces in it!" }],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }],
    ["SHUTDOWN_TIMEOUT_MS", { SHUTDOWN_TIMEOUT_MS: "-1" }],
    ["CORS_ORIGINS", { CORS_ORIGINS: "https://a.example/path" }],
    ["RATE_LIMIT_PER_SECOND", { RATE_LIMIT_PER_SECOND: "0" }],
    ["BODY_LIMIT_BYTES", { BODY_LIMIT_BYTES: "12" }],
    ["DATABASE_URL", { DATABASE_OWNER_URL: "postgres://o:p@db/x" }],
  ])("names %s", (variable, env) => {
    const error = fails(env);
    expect(error.variables).toContain(variable);
    expect(error.message).toContain(variable);
  });

  it("reports every bad variable at once and never echoes a secret", () => {
    const error = fails({ PORT: "x", METRICS_TOKEN: "short-secret", DATABASE_URL: "http://user:hunter2@db" });
    expect(error.variables.sort()).toEqual(["DATABASE_URL", "METRICS_TOKEN", "PORT"]);
    expect(error.message).toContain('(got "x")');
    expect(error.message).not.toContain("short-secret");
    expect(error.message).not.toContain("hunter2");
  });
});
