/** `loadConfig`: one validated object from the environment; a bad value names its variable. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { databaseConfigSchema, parseDatabaseConfig } from "../../core/src/index.ts";
import { s3StorageConfigSchema } from "../../storage/src/index.ts";
import {
  ConfigError,
  DEFAULT_EVENT_STREAM,
  environmentSchema,
  loadConfig,
  resolveGatewayConfig,
} from "../src/index.ts";

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
      database: { url: undefined, directUrl: undefined, pooler: "auto", poolSize: 10 },
      storage: { driver: "local", root: resolve(".cybernetic", "files") },
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
      DATABASE_DIRECT_URL: "postgres://app:pw@db-direct:5432/cyb",
      DATABASE_POOLER: "transaction",
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
      TELEGRAM_TENANT: "ops",
      TELEGRAM_CHAT_BURST: "3",
      TELEGRAM_CHAT_RATE_PER_MINUTE: "0.5",
      TELEGRAM_SLOW_DOWN_WINDOW_SECONDS: "600",
      TELEGRAM_MAX_UPDATE_BYTES: "8192",
      WORKER_PORT: "9464",
    });
    expect(config.port).toBe(9000);
    expect(config.database).toMatchObject({
      directUrl: "postgres://app:pw@db-direct:5432/cyb",
      pooler: "transaction",
    });
    expect(config.workerPort).toBe(9464);
    expect(config.storage).toEqual({
      driver: "s3",
      bucket: "cyb-files",
      endpoint: "http://minio:9000",
      forcePathStyle: true,
      region: "eu-west-1",
      credentials: { accessKeyId: "AKIA", secretAccessKey: "secret" },
    });
    expect(config.gateway.corsOrigins).toEqual(["https://app.example.com", "http://localhost:5173"]);
    expect(config.gateway.rateLimit).toEqual({ perSecond: 2.5, burst: 10, maxKeys: 500 });
    expect(config.gateway.apiKeyCacheTtlMs).toBe(0);
    expect(config.telegram.apiBaseUrl).toBe("http://127.0.0.1:9999");
    expect(config.telegram.tenant).toBe("ops");
    expect(config.gateway.telegram).toEqual({
      tenant: "ops",
      webhookSecret: "s".repeat(32),
      maxUpdateBytes: 8192,
      rateLimit: { perMinute: 0.5, burst: 3, slowDownWindowSeconds: 600 },
    });
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
    ["TELEGRAM_TENANT", { TELEGRAM_TENANT: "Not A Slug" }],
    ["TELEGRAM_CHAT_BURST", { TELEGRAM_CHAT_BURST: "0" }],
    ["TELEGRAM_CHAT_RATE_PER_MINUTE", { TELEGRAM_CHAT_RATE_PER_MINUTE: "-1" }],
    ["TELEGRAM_MAX_UPDATE_BYTES", { TELEGRAM_MAX_UPDATE_BYTES: "10" }],
    ["LOG_LEVEL", { LOG_LEVEL: "loud" }],
    ["SHUTDOWN_TIMEOUT_MS", { SHUTDOWN_TIMEOUT_MS: "-1" }],
    ["CORS_ORIGINS", { CORS_ORIGINS: "https://a.example/path" }],
    ["RATE_LIMIT_PER_SECOND", { RATE_LIMIT_PER_SECOND: "0" }],
    ["BODY_LIMIT_BYTES", { BODY_LIMIT_BYTES: "12" }],
    ["DATABASE_URL", { DATABASE_OWNER_URL: "postgres://o:p@db/x" }],
    ["DATABASE_URL", { DATABASE_DIRECT_URL: "postgres://o:p@db/x" }],
    ["DATABASE_POOLER", { DATABASE_POOLER: "session" }],
    ["DATABASE_DIRECT_URL", { DATABASE_URL: "postgres://a:p@pooler/x", DATABASE_POOLER: "transaction" }],
    ["WORKER_PORT", { WORKER_PORT: "65536" }],
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

describe("one source for each default, bound and pattern", () => {
  it("accepts the socket URLs core accepts (`?host=`), and refuses what core refuses", () => {
    const socket = "postgres:///cybernetic?host=/var/run/postgresql";
    expect(parseDatabaseConfig({ url: socket }).url).toBe(socket);
    expect(loadConfig({ DATABASE_URL: socket }).database.url).toBe(socket);
    const bad = "postgres://db/x?sslmode=sometimes";
    expect(() => parseDatabaseConfig({ url: bad })).toThrow(/sslmode/);
    expect(fails({ DATABASE_URL: bad }).message).toMatch(/DATABASE_URL sslmode/);
  });

  it("takes its defaults and bounds from the packages' schemas", () => {
    expect(loadConfig({}).database.poolSize).toBe(
      databaseConfigSchema.parse({ url: "postgres://h/d" }).poolSize,
    );
    expect(fails({ DATABASE_POOL_SIZE: "501" }).variables).toEqual(["DATABASE_POOL_SIZE"]);
    for (const bucket of ["ab", "Upper", "-dash-first"]) {
      expect(s3StorageConfigSchema.shape.bucket.safeParse(bucket).success, bucket).toBe(false);
      expect(fails({ STORAGE_DRIVER: "s3", S3_BUCKET: bucket }).variables, bucket).toEqual(["S3_BUCKET"]);
    }
    expect(loadConfig({}).gateway).toEqual(resolveGatewayConfig());
  });

  it("reads booleans and numbers with zod's coercions", () => {
    for (const [value, expected] of [
      ["yes", true],
      ["on", true],
      ["1", true],
      ["off", false],
      ["0", false],
    ] as const) {
      const storage = loadConfig({
        STORAGE_DRIVER: "s3",
        S3_BUCKET: "files",
        S3_FORCE_PATH_STYLE: value,
      }).storage;
      expect(storage, value).toMatchObject({ forcePathStyle: expected });
    }
    expect(loadConfig({ RATE_LIMIT_PER_SECOND: " 0.5 " }).gateway.rateLimit.perSecond).toBe(0.5);
    expect(fails({ RATE_LIMIT_BURST: "2.5" }).variables).toEqual(["RATE_LIMIT_BURST"]);
  });

  it("validates what createGateway is handed, naming the field", () => {
    expect(resolveGatewayConfig({ rateLimit: { burst: 10 } }).rateLimit).toEqual({
      perSecond: 50,
      burst: 10,
      maxKeys: 10_000,
    });
    expect(() => resolveGatewayConfig({ bodyLimitBytes: 12 })).toThrow(ConfigError);
    try {
      resolveGatewayConfig({ bodyLimitBytes: 12, rateLimit: { perSecond: 0 } });
    } catch (error) {
      expect((error as ConfigError).variables.sort()).toEqual(["bodyLimitBytes", "rateLimit.perSecond"]);
    }
  });
});

describe("the event stream's settings", () => {
  it("reads every EVENTS_* variable into gateway.events, with the hub's defaults when unset", () => {
    expect(loadConfig({}).gateway.events).toEqual({ ...DEFAULT_EVENT_STREAM, tokenSecret: undefined });
    const events = loadConfig({
      EVENTS_HEARTBEAT_MS: "5000",
      EVENTS_RETRY_MS: "250",
      EVENTS_MAX_CONNECTIONS_PER_TENANT: "7",
      EVENTS_MAX_DURATION_MS: "60000",
      EVENTS_MAX_BUFFERED_BYTES: "65536",
      EVENTS_REPLAY_LIMIT: "500",
      EVENTS_TOKEN_TTL_SECONDS: "60",
      EVENTS_TOKEN_SECRET: "t".repeat(40),
    }).gateway.events;
    expect(events).toEqual({
      heartbeatMs: 5000,
      retryMs: 250,
      maxConnectionsPerTenant: 7,
      maxDurationMs: 60_000,
      maxBufferedBytes: 65_536,
      replayLimit: 500,
      tokenTtlSeconds: 60,
      tokenSecret: "t".repeat(40),
    });
  });

  it.each([
    ["EVENTS_HEARTBEAT_MS", "0"],
    ["EVENTS_MAX_CONNECTIONS_PER_TENANT", "0"],
    ["EVENTS_MAX_BUFFERED_BYTES", "100"],
    ["EVENTS_TOKEN_TTL_SECONDS", "1.5"],
    ["EVENTS_TOKEN_SECRET", "too-short"],
  ])("names %s when it is out of bounds", (variable, value) => {
    const error = fails({ [variable]: value });
    expect(error.variables).toEqual([variable]);
    expect(error.message).not.toContain("too-short");
  });

  it("validates createGateway's config.events, naming the field", () => {
    expect(() => resolveGatewayConfig({ events: { heartbeatMs: 1 } })).toThrow(/events\.heartbeatMs/);
  });
});

describe("docs/configuration.md", () => {
  it("documents every environment variable the schema reads", () => {
    const doc = readFileSync(new URL("../../../docs/configuration.md", import.meta.url), "utf8");
    const missing = Object.keys(environmentSchema.shape).filter((name) => !doc.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});
