/** `createStorage()`: the one place that turns a config object into an adapter. */
import { createLocalStorage } from "./local-storage.js";
import { createMemoryStorage } from "./memory-storage.js";
import { createS3Storage } from "./s3-storage.js";
import type { StorageAdapter } from "./storage-adapter.js";
import { type StorageConfigInput, storageConfigSchema } from "./storage-config.js";
import { StorageError } from "./storage-error.js";

/**
 * Validates `config` against `storageConfigSchema` and builds the adapter it names. An invalid config
 * throws a `StorageError` (`invalid_argument`) whose message names the offending field
 * (`details.field`, e.g. `"partSize"` or `"credentials.accessKeyId"`) and lists every issue in
 * `details.issues`. The S3 SDK is loaded only when `driver` is `"s3"`.
 *
 * @example
 * ```ts
 * const storage = await createStorage({ driver: "local", root: "./data/files" });
 * const s3 = await createStorage({ driver: "s3", bucket: "files", region: "eu-west-1" });
 * ```
 */
export async function createStorage(config: StorageConfigInput): Promise<StorageAdapter> {
  const parsed = storageConfigSchema.safeParse(config);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => {
      // An unknown key is reported on its parent; name the key itself.
      const path = issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0] ?? ""] : issue.path;
      return { path: path.map(String).join("."), message: issue.message };
    });
    const first = issues[0] ?? { path: "", message: "invalid" };
    // A config that is not an object, or has no known driver, is reported against `driver`.
    const field = first.path || "driver";
    throw new StorageError("invalid_argument", `invalid storage config: ${field}: ${first.message}`, {
      details: { field, issues },
    });
  }
  const { data } = parsed;
  switch (data.driver) {
    case "local": {
      const { driver: _, ...options } = data;
      return createLocalStorage(options);
    }
    case "s3": {
      const { driver: _, ...options } = data;
      return createS3Storage(options);
    }
    case "memory":
      return createMemoryStorage();
  }
}
