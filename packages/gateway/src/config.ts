/**
 * The one configuration object of the gateway and the CLI, read from environment variables and validated
 * by a single zod schema. Every variable is documented in `docs/configuration.md`; a bad value stops
 * start-up with a message naming the variable (never echoing a secret's value).
 */
import { resolve } from "node:path";
import { z } from "zod";

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
/** A pino log level, or `silent`. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Variables whose values are secrets: error messages name them but never repeat their value. */
const SECRET_VARIABLES = new Set([
  "DATABASE_URL",
  "DATABASE_OWNER_URL",
  "CYBERNETIC_ADMIN_KEY",
  "S3_ACCESS_KEY_ID",
  "S3_SECRET_ACCESS_KEY",
  "TELEGRAM_BOT_TOKEN",
  "TELEGRAM_WEBHOOK_SECRET",
  "METRICS_TOKEN",
]);

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const integer = (min: number, max: number, fallback: number) =>
  optionalString.pipe(
    z
      .string()
      .regex(/^-?\d+$/, { message: `must be an integer between ${min} and ${max}` })
      .transform(Number)
      .pipe(
        z
          .number()
          .int()
          .min(min, { message: `must be at least ${min}` })
          .max(max, { message: `must be at most ${max}` }),
      )
      .optional()
      .transform((v) => v ?? fallback),
  );

const positiveNumber = (max: number, fallback: number) =>
  optionalString.pipe(
    z
      .string()
      .regex(/^\d+(\.\d+)?$/, { message: "must be a positive number" })
      .transform(Number)
      .pipe(
        z
          .number()
          .positive({ message: "must be greater than 0" })
          .max(max, { message: `must be at most ${max}` }),
      )
      .optional()
      .transform((v) => v ?? fallback),
  );

const boolean = (fallback: boolean) =>
  optionalString.pipe(
    z
      .enum(["true", "false", "1", "0", "yes", "no"], { message: "must be true or false" })
      .optional()
      .transform((v) => (v === undefined ? fallback : v === "true" || v === "1" || v === "yes")),
  );

const postgresUrl = optionalString.pipe(
  z
    .string()
    .refine(
      (value) => {
        try {
          const url = new URL(value);
          return (url.protocol === "postgres:" || url.protocol === "postgresql:") && url.hostname !== "";
        } catch {
          return false;
        }
      },
      { message: "must be a URL like postgres://user:password@host:5432/database" },
    )
    .optional(),
);

const httpUrl = (fallback?: string) =>
  optionalString.pipe(
    z
      .string()
      .refine(
        (value) => {
          try {
            const url = new URL(value);
            return url.protocol === "http:" || url.protocol === "https:";
          } catch {
            return false;
          }
        },
        { message: "must be an http:// or https:// URL" },
      )
      .optional()
      .transform((v) => v ?? fallback),
  );

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

/**
 * The schema of the environment: keys are the variable names, so every issue's path is the variable to
 * fix. `loadConfig` turns the result into `CyberneticConfig`.
 */
export const environmentSchema = z
  .object({
    PORT: integer(0, 65_535, 8080),
    HOST: optionalString.transform((v) => v ?? "127.0.0.1"),
    DATABASE_URL: postgresUrl,
    DATABASE_OWNER_URL: postgresUrl,
    DATABASE_POOL_SIZE: integer(1, 500, 10),
    CYBERNETIC_ADMIN_KEY: optionalString.pipe(
      z
        .string()
        .min(32, { message: "must be at least 32 characters (generate one with `openssl rand -base64 32`)" })
        .max(512, { message: "must be at most 512 characters" })
        .regex(/^[\x21-\x7e]+$/, { message: "must be printable ASCII without spaces" })
        .optional(),
    ),
    CYBERNETIC_DATA_DIR: optionalString.transform((v) => resolve(v ?? ".cybernetic")),
    STORAGE_DRIVER: optionalString.pipe(
      z
        .enum(["local", "s3", "memory"], { message: "must be one of local, s3, memory" })
        .optional()
        .transform((v) => v ?? "local"),
    ),
    STORAGE_LOCAL_ROOT: optionalString.transform((v) => (v === undefined ? undefined : resolve(v))),
    S3_BUCKET: optionalString.pipe(
      z
        .string()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, {
          message: "must be a valid bucket name (3-63 lowercase letters, digits, dots and dashes)",
        })
        .optional(),
    ),
    S3_ENDPOINT: httpUrl(),
    S3_REGION: optionalString.transform((v) => v ?? "us-east-1"),
    S3_ACCESS_KEY_ID: optionalString,
    S3_SECRET_ACCESS_KEY: optionalString,
    S3_FORCE_PATH_STYLE: boolean(false),
    TELEGRAM_BOT_TOKEN: optionalString.pipe(
      z
        .string()
        .regex(/^\d{1,20}:[A-Za-z0-9_-]{30,}$/, { message: "must look like 123456789:AA… (from @BotFather)" })
        .optional(),
    ),
    TELEGRAM_WEBHOOK_SECRET: optionalString.pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9_-]{16,256}$/, {
          message: "must be 16-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's secret_token rules)",
        })
        .optional(),
    ),
    TELEGRAM_API_BASE_URL: httpUrl("https://api.telegram.org"),
    METRICS_TOKEN: optionalString.pipe(
      z.string().min(16, { message: "must be at least 16 characters" }).max(512).optional(),
    ),
    LOG_LEVEL: optionalString.pipe(
      z
        .enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` })
        .optional()
        .transform((v) => v ?? "info"),
    ),
    SHUTDOWN_TIMEOUT_MS: integer(100, 600_000, 10_000),
    CORS_ORIGINS: optionalString.pipe(
      z
        .string()
        .optional()
        .transform((v) =>
          v === undefined
            ? []
            : v
                .split(",")
                .map((s) => s.trim())
                .filter(Boolean),
        )
        .pipe(z.array(origin)),
    ),
    RATE_LIMIT_PER_SECOND: positiveNumber(1_000_000, 50),
    RATE_LIMIT_BURST: integer(1, 1_000_000, 100),
    RATE_LIMIT_MAX_KEYS: integer(1, 10_000_000, 10_000),
    BODY_LIMIT_BYTES: integer(1024, 1024 * 1024 * 1024, 2 * 1024 * 1024),
    ARTIFACT_MAX_BYTES: integer(1024, 5 * 1024 ** 4, 5 * 1024 ** 3),
    API_KEY_CACHE_TTL_MS: integer(0, 60_000, 5_000),
    READY_TIMEOUT_MS: integer(10, 60_000, 2_000),
    WORKER_CONCURRENCY: integer(1, 1_000, 4),
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
    if (Boolean(env.S3_ACCESS_KEY_ID) !== Boolean(env.S3_SECRET_ACCESS_KEY)) {
      ctx.addIssue({
        code: "custom",
        path: [env.S3_ACCESS_KEY_ID ? "S3_SECRET_ACCESS_KEY" : "S3_ACCESS_KEY_ID"],
        message: "S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY must be set together",
      });
    }
  });

/** Token-bucket settings: each API key may burst `burst` requests and then `perSecond` per second. */
export interface RateLimitConfig {
  perSecond: number;
  burst: number;
  /** Buckets kept at most (one per API key seen recently); the oldest idle ones are evicted. */
  maxKeys: number;
}

/** What the HTTP app needs (`createGateway({ config })`); every field has a default. */
export interface GatewayConfig {
  /** Manages tenants and nothing else; without one, the admin routes answer 403. */
  adminKey?: string;
  /** When set, `GET /metrics` requires `Authorization: Bearer <token>`. */
  metricsToken?: string;
  /** Origins allowed by CORS (`*` for any); empty: no CORS headers. */
  corsOrigins?: readonly string[];
  rateLimit?: Partial<RateLimitConfig>;
  /** Request bodies larger than this are refused with 413. */
  bodyLimitBytes?: number;
  /** Largest artifact upload (`PUT /v1/artifacts/*path`, which is not held to `bodyLimitBytes`). */
  artifactMaxBytes?: number;
  /** How long a resolved API key is trusted without asking the database again (0: never cached). */
  apiKeyCacheTtlMs?: number;
  /** Each readiness check is given this long. */
  readyTimeoutMs?: number;
  /** In-flight requests get this long to finish on `close()` before connections are cut. */
  shutdownTimeoutMs?: number;
}

/** The gateway configuration with every default filled in. */
export type ResolvedGatewayConfig = Required<
  Omit<GatewayConfig, "adminKey" | "metricsToken" | "rateLimit">
> & {
  adminKey: string | undefined;
  metricsToken: string | undefined;
  rateLimit: RateLimitConfig;
};

/** Fills the defaults of a `GatewayConfig`. */
export function resolveGatewayConfig(config: GatewayConfig = {}): ResolvedGatewayConfig {
  return {
    adminKey: config.adminKey,
    metricsToken: config.metricsToken,
    corsOrigins: config.corsOrigins ?? [],
    rateLimit: {
      perSecond: config.rateLimit?.perSecond ?? 50,
      burst: config.rateLimit?.burst ?? 100,
      maxKeys: config.rateLimit?.maxKeys ?? 10_000,
    },
    bodyLimitBytes: config.bodyLimitBytes ?? 2 * 1024 * 1024,
    artifactMaxBytes: config.artifactMaxBytes ?? 5 * 1024 ** 3,
    apiKeyCacheTtlMs: config.apiKeyCacheTtlMs ?? 5_000,
    readyTimeoutMs: config.readyTimeoutMs ?? 2_000,
    shutdownTimeoutMs: config.shutdownTimeoutMs ?? 10_000,
  };
}

/** Storage settings. */
export interface StorageConfig {
  driver: "local" | "s3" | "memory";
  /** Root folder of the local driver (default `<dataDir>/files`). */
  localRoot: string;
  s3: {
    bucket: string | undefined;
    endpoint: string | undefined;
    region: string;
    accessKeyId: string | undefined;
    secretAccessKey: string | undefined;
    forcePathStyle: boolean;
  };
}

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
    poolSize: number;
  };
  storage: StorageConfig;
  telegram: { botToken: string | undefined; webhookSecret: string | undefined; apiBaseUrl: string };
  logLevel: LogLevel;
  workerConcurrency: number;
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
    database: { url: e.DATABASE_URL, ownerUrl: e.DATABASE_OWNER_URL, poolSize: e.DATABASE_POOL_SIZE },
    storage: {
      driver: e.STORAGE_DRIVER,
      localRoot: e.STORAGE_LOCAL_ROOT ?? resolve(e.CYBERNETIC_DATA_DIR, "files"),
      s3: {
        bucket: e.S3_BUCKET,
        endpoint: e.S3_ENDPOINT,
        region: e.S3_REGION,
        accessKeyId: e.S3_ACCESS_KEY_ID,
        secretAccessKey: e.S3_SECRET_ACCESS_KEY,
        forcePathStyle: e.S3_FORCE_PATH_STYLE,
      },
    },
    telegram: {
      botToken: e.TELEGRAM_BOT_TOKEN,
      webhookSecret: e.TELEGRAM_WEBHOOK_SECRET,
      apiBaseUrl: e.TELEGRAM_API_BASE_URL ?? "https://api.telegram.org",
    },
    logLevel: e.LOG_LEVEL,
    workerConcurrency: e.WORKER_CONCURRENCY,
    gateway: resolveGatewayConfig({
      adminKey: e.CYBERNETIC_ADMIN_KEY,
      metricsToken: e.METRICS_TOKEN,
      corsOrigins: e.CORS_ORIGINS,
      rateLimit: {
        perSecond: e.RATE_LIMIT_PER_SECOND,
        burst: e.RATE_LIMIT_BURST,
        maxKeys: e.RATE_LIMIT_MAX_KEYS,
      },
      bodyLimitBytes: e.BODY_LIMIT_BYTES,
      artifactMaxBytes: e.ARTIFACT_MAX_BYTES,
      apiKeyCacheTtlMs: e.API_KEY_CACHE_TTL_MS,
      readyTimeoutMs: e.READY_TIMEOUT_MS,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    }),
  };
}
