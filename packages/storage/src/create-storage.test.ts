import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createStorage } from "./create-storage.js";
import { type StorageConfigInput, storageConfigSchema } from "./storage-config.js";
import { StorageError } from "./storage-error.js";

async function configError(config: unknown): Promise<StorageError> {
  const error = await createStorage(config as StorageConfigInput).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(StorageError.isInstance(error)).toBe(true);
  expect((error as StorageError).code).toBe("invalid_argument");
  return error as StorageError;
}

describe("createStorage", () => {
  it("builds the memory adapter", async () => {
    const storage = await createStorage({ driver: "memory" });
    expect(storage.driver).toBe("memory");
    await storage.put("k", "v");
    expect(await storage.exists("k")).toBe(true);
  });

  it("builds the local adapter", async () => {
    const root = await mkdtemp(join(tmpdir(), "cybernetic-config-"));
    try {
      const storage = await createStorage({ driver: "local", root, highWaterMark: 256 * 1024 });
      expect(storage.driver).toBe("local");
      await storage.put("k", "v");
      expect((await storage.head("k")).size).toBe(1);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("names the offending field of an invalid config", async () => {
    const cases: [unknown, string][] = [
      [{ driver: "ftp" }, "driver"],
      [{}, "driver"],
      [null, "driver"],
      [{ driver: "local" }, "root"],
      [{ driver: "local", root: "" }, "root"],
      [{ driver: "local", root: "/x", highWaterMark: 1 }, "highWaterMark"],
      [{ driver: "local", root: "/x", typo: true }, "typo"],
      [{ driver: "s3" }, "bucket"],
      [{ driver: "s3", bucket: "Bad_Bucket" }, "bucket"],
      [{ driver: "s3", bucket: "files", partSize: 1024 }, "partSize"],
      [{ driver: "s3", bucket: "files", queueSize: 0 }, "queueSize"],
      [{ driver: "s3", bucket: "files", endpoint: "not a url" }, "endpoint"],
      [{ driver: "s3", bucket: "files", endpoint: "ftp://x" }, "endpoint"],
      [{ driver: "s3", bucket: "files", prefix: "../x" }, "prefix"],
      [{ driver: "s3", bucket: "files", credentials: { accessKeyId: "a" } }, "credentials.secretAccessKey"],
      [{ driver: "memory", root: "/x" }, "root"],
    ];
    for (const [config, field] of cases) {
      const error = await configError(config);
      expect(error.details?.field, JSON.stringify(config)).toBe(field);
      expect(error.message).toContain(`invalid storage config: ${field}`);
      expect(Array.isArray(error.details?.issues)).toBe(true);
    }
  });

  it("exports the schema, which accepts each driver's config", () => {
    expect(storageConfigSchema.parse({ driver: "memory" })).toEqual({ driver: "memory" });
    expect(
      storageConfigSchema.parse({
        driver: "s3",
        bucket: "my.bucket-1",
        endpoint: "http://127.0.0.1:9000",
        forcePathStyle: true,
        credentials: { accessKeyId: "a", secretAccessKey: "b" },
        partSize: 8 * 1024 * 1024,
        queueSize: 8,
        prefix: "tenants/",
      }),
    ).toMatchObject({ driver: "s3", bucket: "my.bucket-1", queueSize: 8 });
    expect(storageConfigSchema.safeParse({ driver: "local", root: "./files" }).success).toBe(true);
  });
});
