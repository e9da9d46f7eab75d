/**
 * The one configuration object of the gateway and the CLI, read from environment variables and validated
 * by a single zod schema. Every variable is documented in `docs/configuration.md`; a bad value stops
 * start-up with a message naming the variable (never echoing a secret's value).
 *
 * Each default, bound and pattern is written once: the database variables read core's
 * `databaseConfigSchema`, the storage variables storage's driver schemas, and the gateway's own settings
 * `gatewayConfigSchema` below, which `createGateway` applies too.
 */
import { resolve } from "node:path";
import {
  type DatabaseConfig,
  databaseConfigSchema,
  slugSchema,
  telegramBotTokenSchema,
  telegramRateLimitSchema,
  telegramWebhookSecretSchema,
} from "@cybernetic/core";
import {
  localStorageConfigSchema,
  type StorageConfig,
  s3StorageConfigSchema,
  storageConfigSchema,
} from "@cybernetic/storage";
import { z } from "zod";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** A pino log level, or `silent`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Variables whose values are secrets: error messages name them but never repeat their value. */
const SECRET_VARIABLES = new Set([
  "DATABASE_URL",
  "DATABASE_OWNER_URL",
  "DATABASE_DIRECT_URL",
  "CYBERNETIC_ADMIN_KEY",
  "S3_ACCESS_KEY_ID",
  "S3_SECRET_ACCESS_KEY",
  "TELEGRAM_BOT_TOKEN",
  "TELEGRAM_WEBHOOK_SECRET",
  "EVENTS_TOKEN_SECRET",
  "METRICS_TOKEN",
]);

const origin = z.string().refine(
  (value) => {
    if (value === "*") return true;
    try {
      const url = new URL(value);
      return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value;
    } catch {
      return false;
    }
  },
  {
    message:
      'each origin must look like https://app.example.com (scheme, host, optional port; no path) or be "*"',
  },
);

/** Token-bucket settings: each API key may burst `burst` requests and then `perSecond` per second. */
export const rateLimitConfigSchema = z.object({
  perSecond: z.number().positive().max(1_000_000).default(50),
  burst: z.number().int().min(1).max(1_000_000).default(100),
  /** Buckets kept at most (one per API key seen recently); the oldest idle ones are evicted. */
  maxKeys: z.number().int().min(1).max(10_000_000).default(10_000),
});

/** Token-bucket settings, with their defaults filled in. */
export type RateLimitConfig = z.output<typeof rateLimitConfigSchema>;

/** Limits and timings of the event stream (`GET /v1/events`), with their bounds and defaults. */
export const eventStreamConfigSchema = z.object({
  /** A heartbeat comment is written this often (clients reconnect after twice this without a byte). */
  heartbeatMs: z.number().int().min(10).max(300_000).default(15_000),
  /** The `retry:` hint: how long a client waits before reconnecting. */
  retryMs: z.number().int().min(0).max(300_000).default(2_000),
  /** Open streams per tenant on one process; one more is answered 429 before the stream starts. */
  maxConnectionsPerTenant: z.number().int().min(1).max(1_000_000).default(100),
  /** A stream is ended with a `disconnected` event after this long (the client resumes). */
  maxDurationMs: z
    .number()
    .int()
    .min(100)
    .max(7 * 86_400_000)
    .default(60 * 60_000),
  /** Bytes a stream may have waiting to be sent; a consumer further behind is disconnected. */
  maxBufferedBytes: z
    .number()
    .int()
    .min(4096)
    .max(1024 ** 3)
    .default(1024 * 1024),
  /** Most missed events replayed on resume; further behind, the client gets `resync`. */
  replayLimit: z.number().int().min(1).max(10_000_000).default(10_000),
  /** Lifetime of a stream token (`POST /v1/events/token`), in seconds. */
  tokenTtlSeconds: z.number().int().min(10).max(86_400).default(300),
  /**
   * Signs stream tokens; must be the same on every instance behind one load balancer. Default: derived
   * from the admin key, or random per process when there is none (tokens then work only on the instance
   * that issued them).
   */
  tokenSecret: z.string().min(32, { message: "must be at least 32 characters" }).max(512).optional(),
});

/** Event stream settings, with their defaults filled in. */
export type EventStreamSettings = z.output<typeof eventStreamConfigSchema>;

/** The Telegram webhook: which tenant `POST /telegram/webhook` serves, its secret, limits. */
export const telegramWebhookConfigSchema = z.object({
  /** The tenant `POST /telegram/webhook` serves (the platform's bot). */
  tenant: slugSchema.default("default"),
  /** The platform bot's `secret_token`; without it `POST /telegram/webhook` is refused. */
  webhookSecret: telegramWebhookSecretSchema.optional(),
  /** A larger update is refused with 413 (Telegram's are a few KiB). */
  maxUpdateBytes: z
    .number()
    .int()
    .min(1024)
    .max(16 * 1024 * 1024)
    .default(256 * 1024),
  /** The per-chat limit of incoming updates (core's `telegramRateLimitSchema`). */
  rateLimit: telegramRateLimitSchema.prefault({}),
});

/**
 * What the HTTP app needs (`createGateway({ config })`): every field optional, with its default and
 * bounds here and nowhere else.
 */
export const gatewayConfigSchema = z.object({
  /** Manages tenants and nothing else; without one, the admin routes answer 403. */
  adminKey: z
    .string()
    .min(32, { message: "must be at least 32 characters (generate one with `openssl rand -base64 32`)" })
    .max(512, { message: "must be at most 512 characters" })
    .regex(/^[\x21-\x7e]+$/, { message: "must be printable ASCII without spaces" })
    .optional(),
  /** When set, `GET /metrics` requires `Authorization: Bearer <token>`. */
  metricsToken: z.string().min(16, { message: "must be at least 16 characters" }).max(512).optional(),
  /**
   * `/metrics` shows the latest triple index of at most this many indicators, labelled by unit and
   * indicator id (0, the default: aggregates only, no unit ids as labels). Each one is three series.
   */
  metricsIndicatorSeries: z.number().int().min(0).max(1_000).default(0),
  /** Origins allowed by CORS (`*` for any); empty: no CORS headers. */
  corsOrigins: z.array(origin).default([]),
  /**
   * A folder of static files (examples/dashboard's `dist`) served at `/dashboard`; unset: no dashboard,
   * `/dashboard` is 404 like any unknown route (and so is every path while the folder is missing).
   */
  dashboardDir: z.string().min(1).optional(),
  rateLimit: rateLimitConfigSchema.partial().prefault({}).pipe(rateLimitConfigSchema),
  events: eventStreamConfigSchema.partial().prefault({}).pipe(eventStreamConfigSchema),
  /** The Telegram webhook (`POST /telegram/webhook[/:tenantSlug]`). */
  telegram: telegramWebhookConfigSchema.prefault({}),
  /** Request bodies larger than this are refused with 413. */
  bodyLimitBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 3)
    .default(2 * 1024 * 1024),
  /** Largest artifact upload (`PUT /v1/artifacts/*path`, which is not held to `bodyLimitBytes`). */
  artifactMaxBytes: z
    .number()
    .int()
    .min(1024)
    .max(5 * 1024 ** 4)
    .default(5 * 1024 ** 3),
  /** How long a resolved API key is trusted without asking the database again (0: never cached). */
  apiKeyCacheTtlMs: z.number().int().min(0).max(60_000).default(5_000),
  /** Each readiness check is given this long. */
  readyTimeoutMs: z.number().int().min(10).max(60_000).default(2_000),
  /** `close()` takes at most this long in all (drain included); then what is left is cut. */
  shutdownTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
  /**
   * On `close()`, keep accepting for this long while `/ready` answers 503, so a load balancer stops
   * sending before the listener closes (0, the default: close at once, after accepting what is queued).
   */
  shutdownDrainMs: z.number().int().min(0).max(600_000).default(0),
  /**
   * A connection must have sent its whole request head within this long, or it is answered 408 and
   * closed: slow clients (slowloris) cannot hold connections open. Checked every second.
   */
  headersTimeoutMs: z.number().int().min(1_000).max(600_000).default(10_000),
  /** A request, body included, must have arrived within this long (0: no limit, e.g. for huge uploads). */
  requestTimeoutMs: z.number().int().min(0).max(86_400_000).default(300_000),
  /**
   * How long an idle keep-alive connection stays open for its next request. Longer than the idle timeout
   * of the load balancer in front (60 s on AWS's ALB and in nginx's default): otherwise the gateway can
   * close a connection just as the balancer sends a request on it, and the client gets a 502.
   */
  keepAliveTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(72_000),
});

/** What the HTTP app needs (`createGateway({ config })`); every field has a default. */
export type GatewayConfig = z.input<typeof gatewayConfigSchema>;
/** The gateway configuration with every default filled in. */
export type ResolvedGatewayConfig = z.output<typeof gatewayConfigSchema>;

/**
 * Validates a `GatewayConfig` and fills its defaults.
 *
 * @example
 * ```ts
 * resolveGatewayConfig({ rateLimit: { burst: 10 } }).rateLimit; // { perSecond: 50, burst: 10, maxKeys: 10000 }
 * ```
 * @throws ConfigError naming each bad field, e.g. `bodyLimitBytes`.
 */
export function resolveGatewayConfig(config: GatewayConfig = {}): ResolvedGatewayConfig {
  const result = gatewayConfigSchema.safeParse(config);
  if (result.success) return result.data;
  const fields = [...new Set(result.error.issues.map((i) => i.path.join(".")))];
  throw new ConfigError(
    `invalid gateway config: ${result.error.issues.map((i) => `${i.path.join(".")} ${i.message}`).join("; ")}`,
    fields,
  );
}

/** An unset or blank variable reads as undefined, so the schema's default applies. */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/** A variable validated by `schema` (its default applies when unset). */
const text = <T extends z.ZodType<unknown, string | undefined>>(schema: T) => optionalString.pipe(schema);
/** A number variable (zod's coercion), validated by `schema`. */
const numeric = <T extends z.ZodType<unknown, number | undefined>>(schema: T) =>
  optionalString.pipe(z.coerce.number<string>({ message: "must be a number" }).optional()).pipe(schema);
/** A boolean variable (zod's `stringbool`: true/false, 1/0, yes/no, on/off), validated by `schema`. */
const flag = <T extends z.ZodType<unknown, boolean | undefined>>(schema: T) =>
  optionalString.pipe(z.stringbool({ message: "must be true or false" }).optional()).pipe(schema);

const database = databaseConfigSchema.shape;
const gateway = gatewayConfigSchema.shape;
const rate = rateLimitConfigSchema.shape;
const stream = eventStreamConfigSchema.shape;
const local = localStorageConfigSchema.shape;
const s3 = s3StorageConfigSchema.shape;
const telegram = telegramWebhookConfigSchema.shape;
const telegramRate = telegramRateLimitSchema.shape;

/**
 * The schema of the environment: keys are the variable names, so every issue's path is the variable to
 * fix. `loadConfig` turns the result into `CyberneticConfig`.
 */
export const environmentSchema = z
  .object({
    PORT: numeric(z.number().int().min(0).max(65_535).default(8080)),
    HOST: text(z.string().default("127.0.0.1")),
    DATABASE_URL: text(database.url.optional()),
    DATABASE_OWNER_URL: text(database.ownerUrl),
    DATABASE_DIRECT_URL: text(database.directUrl),
    DATABASE_POOLER: text(database.pooler),
    DATABASE_POOL_SIZE: numeric(database.poolSize),
    CYBERNETIC_ADMIN_KEY: text(gateway.adminKey),
    CYBERNETIC_DATA_DIR: text(z.string().default(".cybernetic")).transform((v) => resolve(v)),
    STORAGE_DRIVER: text(
      z
        .enum(storageConfigSchema.options.map((o) => o.shape.driver.value) as [StorageConfig["driver"]], {
          message: `must be one of ${storageConfigSchema.options.map((o) => o.shape.driver.value).join(", ")}`,
        })
        .default("local"),
    ),
    STORAGE_LOCAL_ROOT: text(local.root.optional()).transform((v) =>
      v === undefined ? undefined : resolve(v),
    ),
    S3_BUCKET: text(s3.bucket.optional()),
    S3_ENDPOINT: text(s3.endpoint),
    S3_REGION: text(s3.region),
    S3_ACCESS_KEY_ID: optionalString,
    S3_SECRET_ACCESS_KEY: optionalString,
    S3_FORCE_PATH_STYLE: flag(z.boolean().default(false)),
    TELEGRAM_BOT_TOKEN: text(telegramBotTokenSchema.optional()),
    TELEGRAM_WEBHOOK_SECRET: text(telegram.webhookSecret),
    TELEGRAM_TENANT: text(telegram.tenant),
    TELEGRAM_MAX_UPDATE_BYTES: numeric(telegram.maxUpdateBytes),
    TELEGRAM_CHAT_RATE_PER_MINUTE: numeric(telegramRate.perMinute),
    TELEGRAM_CHAT_BURST: numeric(telegramRate.burst),
    TELEGRAM_SLOW_DOWN_WINDOW_SECONDS: numeric(telegramRate.slowDownWindowSeconds),
    /** Unset: the workers' default Bot API root. */
    TELEGRAM_API_BASE_URL: text(
      z.url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" }).optional(),
    ),
    METRICS_TOKEN: text(gateway.metricsToken),
    METRICS_INDICATOR_SERIES: numeric(gateway.metricsIndicatorSeries),
    LOG_LEVEL: text(
      z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
    ),
    SHUTDOWN_TIMEOUT_MS: numeric(gateway.shutdownTimeoutMs),
    SHUTDOWN_DRAIN_MS: numeric(gateway.shutdownDrainMs),
    HEADERS_TIMEOUT_MS: numeric(gateway.headersTimeoutMs),
    REQUEST_TIMEOUT_MS: numeric(gateway.requestTimeoutMs),
    KEEP_ALIVE_TIMEOUT_MS: numeric(gateway.keepAliveTimeoutMs),
    /** Unset: `cybernetic serve` serves examples/dashboard/dist when it is built next to the gateway. */
    DASHBOARD_DIR: text(gateway.dashboardDir).transform((v) => (v === undefined ? undefined : resolve(v))),
    CORS_ORIGINS: optionalString
      .transform((v) =>
        v === undefined
          ? []
          : v
              .split(",")
              .map((s) => s.trim())
              .filter(Boolean),
      )
      .pipe(gateway.corsOrigins.unwrap()),
    RATE_LIMIT_PER_SECOND: numeric(rate.perSecond),
    RATE_LIMIT_BURST: numeric(rate.burst),
    RATE_LIMIT_MAX_KEYS: numeric(rate.maxKeys),
    BODY_LIMIT_BYTES: numeric(gateway.bodyLimitBytes),
    ARTIFACT_MAX_BYTES: numeric(gateway.artifactMaxBytes),
    API_KEY_CACHE_TTL_MS: numeric(gateway.apiKeyCacheTtlMs),
    READY_TIMEOUT_MS: numeric(gateway.readyTimeoutMs),
    EVENTS_HEARTBEAT_MS: numeric(stream.heartbeatMs),
    EVENTS_RETRY_MS: numeric(stream.retryMs),
    EVENTS_MAX_CONNECTIONS_PER_TENANT: numeric(stream.maxConnectionsPerTenant),
    EVENTS_MAX_DURATION_MS: numeric(stream.maxDurationMs),
    EVENTS_MAX_BUFFERED_BYTES: numeric(stream.maxBufferedBytes),
    EVENTS_REPLAY_LIMIT: numeric(stream.replayLimit),
    EVENTS_TOKEN_TTL_SECONDS: numeric(stream.tokenTtlSeconds),
    EVENTS_TOKEN_SECRET: text(stream.tokenSecret),
    WORKER_CONCURRENCY: numeric(z.number().int().min(1).max(1_000).default(4)),
    /** Unset: `cybernetic worker` serves no HTTP. */
    WORKER_PORT: numeric(z.number().int().min(0).max(65_535).optional()),
  })
  .superRefine((env, ctx) => {
    if (env.STORAGE_DRIVER === "s3" && !env.S3_BUCKET) {
      ctx.addIssue({ code: "custom", path: ["S3_BUCKET"], message: "is required when STORAGE_DRIVER=s3" });
    }
    if (env.DATABASE_OWNER_URL && !env.DATABASE_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_URL"],
        message: "is required when DATABASE_OWNER_URL is set (the runtime role connects with it)",
      });
    }
    if (env.DATABASE_DIRECT_URL && !env.DATABASE_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_URL"],
        message: "is required when DATABASE_DIRECT_URL is set (the runtime pool connects with it)",
      });
    }
    if (env.DATABASE_POOLER === "transaction" && !env.DATABASE_DIRECT_URL) {
      ctx.addIssue({
        code: "custom",
        path: ["DATABASE_DIRECT_URL"],
        message:
          "is required when DATABASE_POOLER=transaction: LISTEN and the job queue need a session of their own, which a transaction pooler does not keep",
      });
    }
    if (Boolean(env.S3_ACCESS_KEY_ID) !== Boolean(env.S3_SECRET_ACCESS_KEY)) {
      ctx.addIssue({
        code: "custom",
        path: [env.S3_ACCESS_KEY_ID ? "S3_SECRET_ACCESS_KEY" : "S3_ACCESS_KEY_ID"],
        message: "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together",
      });
    }
  });

/** The whole configuration of the `cybernetic` CLI. */
export interface CyberneticConfig {
  port: number;
  host: string;
  /** Embedded PostgreSQL data, generated secrets and local files live here. */
  dataDir: string;
  database: {
    /** Runtime connection; absent: embedded PostgreSQL under `dataDir`. */
    url: string | undefined;
    /** Owner connection for migrations; defaults to `url`. */
    ownerUrl: string | undefined;
    /** The runtime role past any pooler, for LISTEN and the job queue; defaults to `url`. */
    directUrl: string | undefined;
    /** What stands between `url` and PostgreSQL (core's `DatabaseConfig.pooler`). */
    pooler: DatabaseConfig["pooler"];
    poolSize: number;
  };
  /** The storage driver's config (`@cybernetic/storage`'s); local files default to `<dataDir>/files`. */
  storage: StorageConfig;
  telegram: {
    botToken: string | undefined;
    webhookSecret: string | undefined;
    /** The tenant the platform's bot serves (`TELEGRAM_TENANT`). */
    tenant: string;
    /** Unset: the workers' default (`https://api.telegram.org`). */
    apiBaseUrl: string | undefined;
  };
  logLevel: LogLevel;
  workerConcurrency: number;
  /** `cybernetic worker` serves `/health` and `/metrics` on this port (on `host`); undefined: no HTTP. */
  workerPort: number | undefined;
  gateway: ResolvedGatewayConfig;
}

/** Thrown by `loadConfig`; `variables` lists every variable at fault. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    readonly variables: string[],
  ) {
    super(message);
  }
}

function describeIssue(issue: z.core.$ZodIssue, env: Record<string, string | undefined>): string {
  const variable = String(issue.path[0] ?? "(environment)");
  const raw = env[variable];
  const shown =
    raw === undefined || SECRET_VARIABLES.has(variable)
      ? ""
      : ` (got ${JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}…` : raw)})`;
  return `${variable} ${issue.message}${shown}`;
}

/**
 * Reads and validates the configuration from environment variables.
 *
 * @example
 * ```ts
 * const config = loadConfig(process.env);
 * config.port; // 8080 unless PORT is set
 * ```
 * @throws ConfigError naming each bad variable, e.g. `invalid configuration: PORT must be at most 65535 (got "70000")`.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): CyberneticConfig {
  const result = environmentSchema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => describeIssue(issue, env));
    const variables = [...new Set(result.error.issues.map((i) => String(i.path[0] ?? "")))];
    throw new ConfigError(`invalid configuration: ${lines.join("; ")}`, variables);
  }
  const e = result.data;
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.CYBERNETIC_DATA_DIR,
    database: {
      url: e.DATABASE_URL,
      ownerUrl: e.DATABASE_OWNER_URL,
      directUrl: e.DATABASE_DIRECT_URL,
      pooler: e.DATABASE_POOLER,
      poolSize: e.DATABASE_POOL_SIZE,
    },
    storage: storageOf(e),
    telegram: {
      botToken: e.TELEGRAM_BOT_TOKEN,
      webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
      tenant: e.TELEGRAM_TENANT,
      apiBaseUrl: e.TELEGRAM_API_BASE_URL,
    },
    logLevel: e.LOG_LEVEL,
    workerConcurrency: e.WORKER_CONCURRENCY,
    workerPort: e.WORKER_PORT,
    gateway: {
      adminKey: e.CYBERNETIC_ADMIN_KEY,
      metricsToken: e.METRICS_TOKEN,
      metricsIndicatorSeries: e.METRICS_INDICATOR_SERIES,
      corsOrigins: e.CORS_ORIGINS,
      dashboardDir: e.DASHBOARD_DIR,
      rateLimit: {
        perSecond: e.RATE_LIMIT_PER_SECOND,
        burst: e.RATE_LIMIT_BURST,
        maxKeys: e.RATE_LIMIT_MAX_KEYS,
      },
      telegram: {
        tenant: e.TELEGRAM_TENANT,
        webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
        maxUpdateBytes: e.TELEGRAM_MAX_UPDATE_BYTES,
        rateLimit: {
          perMinute: e.TELEGRAM_CHAT_RATE_PER_MINUTE,
          burst: e.TELEGRAM_CHAT_BURST,
          slowDownWindowSeconds: e.TELEGRAM_SLOW_DOWN_WINDOW_SECONDS,
        },
      },
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      artifactMaxBytes: e.ARTIFACT_MAX_BYTES,
      apiKeyCacheTtlMs: e.API_KEY_CACHE_TTL_MS,
      readyTimeoutMs: e.READY_TIMEOUT_MS,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
      headersTimeoutMs: e.HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
      events: {
        heartbeatMs: e.EVENTS_HEARTBEAT_MS,
        retryMs: e.EVENTS_RETRY_MS,
        maxConnectionsPerTenant: e.EVENTS_MAX_CONNECTIONS_PER_TENANT,
        maxDurationMs: e.EVENTS_MAX_DURATION_MS,
        maxBufferedBytes: e.EVENTS_MAX_BUFFERED_BYTES,
        replayLimit: e.EVENTS_REPLAY_LIMIT,
        tokenTtlSeconds: e.EVENTS_TOKEN_TTL_SECONDS,
        tokenSecret: e.EVENTS_TOKEN_SECRET,
      },
    },
  };
}

/**
 * The storage driver's config from the (already validated) storage variables. The driver list comes from
 * `@cybernetic/storage`'s schema; a new driver with settings of its own gets its variables here (the
 * `never` check fails to compile until it does).
 */
function storageOf(e: z.output<typeof environmentSchema>): StorageConfig {
  const driver = e.STORAGE_DRIVER;
  switch (driver) {
    case "memory":
      return { driver };
    case "local":
      return { driver, root: e.STORAGE_LOCAL_ROOT ?? resolve(e.CYBERNETIC_DATA_DIR, "files") };
    case "s3":
      return {
        driver,
        bucket: e.S3_BUCKET ?? "",
        ...(e.S3_REGION ? { region: e.S3_REGION } : {}),
        ...(e.S3_ENDPOINT ? { endpoint: e.S3_ENDPOINT } : {}),
        forcePathStyle: e.S3_FORCE_PATH_STYLE,
        ...(e.S3_ACCESS_KEY_ID && e.S3_SECRET_ACCESS_KEY
          ? { credentials: { accessKeyId: e.S3_ACCESS_KEY_ID, secretAccessKey: e.S3_SECRET_ACCESS_KEY } }
          : {}),
      };
    default: {
      const unknown: never = driver;
      throw new ConfigError(`STORAGE_DRIVER ${String(unknown)} has no variables mapped`, ["STORAGE_DRIVER"]);
    }
  }
}
