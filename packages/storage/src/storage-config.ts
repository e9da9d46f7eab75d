/**
 * The storage configuration: one validated object (a zod discriminated union on `driver`) from which
 * `createStorage()` builds an adapter. The CLI fills it from env vars; a host app may write it by hand.
 */
import { z } from "zod";
import { prefixProblem } from "./validate-key.js";

const MiB = 1024 * 1024;

/**
 * Config of the local-disk driver (see `LocalStorageOptions`).
 *
 * @example
 * ```ts
 * localStorageConfigSchema.parse({ driver: "local", root: "./data/files" });
 * ```
 */
export const localStorageConfigSchema = z.strictObject({
  driver: z.literal("local"),
  root: z.string().min(1, "expected a directory path"),
  tempDir: z.string().min(1).optional(),
  highWaterMark: z
    .number()
    .int()
    .min(16 * 1024)
    .max(64 * MiB)
    .optional(),
  staleTempAfterMs: z.number().int().min(0).optional(),
});

/**
 * Config of the S3 driver (see `S3StorageOptions`; a client cannot be configured here, build the
 * adapter with `createS3Storage({ client })` for that).
 *
 * @example
 * ```ts
 * s3StorageConfigSchema.parse({ driver: "s3", bucket: "files", region: "eu-west-1" });
 * ```
 */
export const s3StorageConfigSchema = z.strictObject({
  driver: z.literal("s3"),
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "expected an S3 bucket name (3–63 of a-z 0-9 . -)"),
  region: z.string().min(1).optional(),
  endpoint: z.url({ protocol: /^https?$/, error: "expected an http(s) URL" }).optional(),
  forcePathStyle: z.boolean().optional(),
  credentials: z
    .strictObject({
      accessKeyId: z.string().min(1),
      secretAccessKey: z.string().min(1),
      sessionToken: z.string().min(1).optional(),
    })
    .optional(),
  partSize: z
    .number()
    .int()
    .min(5 * MiB, "expected at least 5 MiB (5242880)")
    .max(5 * 1024 * MiB)
    .optional(),
  queueSize: z.number().int().min(1).max(64).optional(),
  prefix: z
    .string()
    .refine((value) => prefixProblem(value) === undefined, 'expected a valid key prefix such as "files/"')
    .optional(),
  maxCopyObjectBytes: z.number().int().min(0).optional(),
});

/**
 * Config of the in-memory driver.
 *
 * @example
 * ```ts
 * memoryStorageConfigSchema.parse({ driver: "memory" });
 * ```
 */
export const memoryStorageConfigSchema = z.strictObject({
  driver: z.literal("memory"),
});

/**
 * The storage config: exactly one of the driver configs, chosen by `driver`.
 *
 * @example
 * ```ts
 * const config = storageConfigSchema.parse({ driver: "local", root: "/var/lib/cybernetic" });
 * ```
 */
export const storageConfigSchema = z.discriminatedUnion("driver", [
  localStorageConfigSchema,
  s3StorageConfigSchema,
  memoryStorageConfigSchema,
]);

/**
 * A validated storage config.
 *
 * @example
 * ```ts
 * const config: StorageConfig = { driver: "memory" };
 * ```
 */
export type StorageConfig = z.infer<typeof storageConfigSchema>;

/**
 * What `createStorage()` accepts before validation (same shape; kept separate in case defaults appear).
 *
 * @example
 * ```ts
 * const input: StorageConfigInput = { driver: "s3", bucket: "files" };
 * ```
 */
export type StorageConfigInput = z.input<typeof storageConfigSchema>;

/**
 * Config of the local driver, validated.
 *
 * @example
 * ```ts
 * const local: LocalStorageConfig = { driver: "local", root: "./files" };
 * ```
 */
export type LocalStorageConfig = z.infer<typeof localStorageConfigSchema>;

/**
 * Config of the S3 driver, validated.
 *
 * @example
 * ```ts
 * const s3: S3StorageConfig = { driver: "s3", bucket: "files" };
 * ```
 */
export type S3StorageConfig = z.infer<typeof s3StorageConfigSchema>;

/**
 * Config of the memory driver.
 *
 * @example
 * ```ts
 * const memory: MemoryStorageConfig = { driver: "memory" };
 * ```
 */
export type MemoryStorageConfig = z.infer<typeof memoryStorageConfigSchema>;
