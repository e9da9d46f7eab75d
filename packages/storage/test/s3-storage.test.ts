/**
 * The S3 adapter against s3rver on a random loopback port (or the S3 named by S3_ENDPOINT & co.):
 * the conformance suite, then the multipart, abort, memory and configuration proofs.
 */
import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { buffer as readAll } from "node:stream/consumers";
import { ListMultipartUploadsCommand, ListObjectsV2Command, type S3Client } from "@aws-sdk/client-s3";
import { createS3Storage, createStorage, type StorageAdapter, StorageError } from "@cybernetic/storage";
import { describeStorageAdapter, patternSha256, patternStream } from "@cybernetic/storage/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { measurePeakRssGrowth } from "./support/rss.js";
import { startTestS3, type TestS3 } from "./support/s3-server.js";

const MiB = 1024 * 1024;
let s3: TestS3;
let client: S3Client;

beforeAll(async () => {
  s3 = await startTestS3();
  client = s3.client();
});

afterAll(async () => {
  client?.destroy();
  await s3?.close();
});

function newPrefix(): string {
  return `test-${randomUUID()}/`;
}

async function pendingUploads(prefix: string): Promise<string[]> {
  const out = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: prefix }));
  return (out.Uploads ?? []).map((upload) => upload.Key ?? "");
}

async function objectKeys(prefix: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((object) => object.Key ?? "");
}

async function expectCode(promise: Promise<unknown>, code: string): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(StorageError.isInstance(error), String(error)).toBe(true);
  expect((error as StorageError).code).toBe(code);
  return error as StorageError;
}

describeStorageAdapter(
  "s3",
  async () => {
    const prefix = newPrefix();
    return {
      adapter: await createS3Storage({ client, bucket: s3.bucket, prefix }),
      reopen: () => createS3Storage({ client, bucket: s3.bucket, prefix }),
    };
  },
  { maxKeyBytes: 1024 - Buffer.byteLength(newPrefix()) },
);

describe("createS3Storage", () => {
  let prefix: string;
  let storage: StorageAdapter;

  beforeEach(async () => {
    prefix = newPrefix();
    storage = await createS3Storage({ client, bucket: s3.bucket, prefix, partSize: 5 * MiB, queueSize: 4 });
  });

  it("round-trips 50 MB through multipart upload with a matching SHA-256 and bounded memory", {
    timeout: 180_000,
  }, async () => {
    // Watch the requests on the wire (an SDK middleware on a client of our own, not a mock).
    const recording = s3.client();
    const calls: { command: string; bytes: number }[] = [];
    let inFlightParts = 0;
    let maxInFlightParts = 0;
    recording.middlewareStack.add(
      (next, context) => async (args) => {
        const command = String((context as { commandName?: string }).commandName);
        const body = (args.input as { Body?: Uint8Array }).Body;
        calls.push({ command, bytes: body instanceof Uint8Array ? body.byteLength : 0 });
        if (command !== "UploadPartCommand") return next(args);
        maxInFlightParts = Math.max(maxInFlightParts, ++inFlightParts);
        try {
          return await next(args);
        } finally {
          inFlightParts--;
        }
      },
      { step: "initialize", name: "recordCalls" },
    );
    const watched = await createS3Storage({
      client: recording,
      bucket: s3.bucket,
      prefix,
      partSize: 5 * MiB,
      queueSize: 4,
    });

    const size = 50 * 1000 * 1000;
    const expected = patternSha256(size, 42);
    const { result: put, peakGrowth: putGrowth } = await measurePeakRssGrowth(() =>
      watched.put("proof/50mb.bin", patternStream(size, 42, 64 * 1024)),
    );
    recording.destroy();
    expect(put.size).toBe(size);
    expect(put.sha256).toBe(expected);
    expect(putGrowth).toBeLessThan(64 * MiB);
    // 50 MB in 5 MiB parts: 9 full parts and a last one, at most 4 in flight.
    const parts = calls.filter((c) => c.command === "UploadPartCommand");
    expect(calls.filter((c) => c.command === "CreateMultipartUploadCommand")).toHaveLength(1);
    expect(parts.map((p) => p.bytes)).toEqual([...Array(9).fill(5 * MiB), size - 9 * 5 * MiB]);
    expect(calls.filter((c) => c.command === "CompleteMultipartUploadCommand")).toHaveLength(1);
    expect(maxInFlightParts).toBeGreaterThan(1);
    expect(maxInFlightParts).toBeLessThanOrEqual(4);

    const { result: digest, peakGrowth: getGrowth } = await measurePeakRssGrowth(async () => {
      const { body, size: got } = await storage.get("proof/50mb.bin");
      expect(got).toBe(size);
      const { createHash } = await import("node:crypto");
      const hash = createHash("sha256");
      for await (const chunk of body) hash.update(chunk as Buffer);
      return hash.digest("hex");
    });
    expect(digest).toBe(expected);
    expect(getGrowth).toBeLessThan(64 * MiB);
    expect(await pendingUploads(prefix)).toEqual([]);
  });

  it("aborting an upload half-way leaves no object and no multipart parts", {
    timeout: 120_000,
  }, async () => {
    const controller = new AbortController();
    let uploadsWhenAborted: string[] = [];
    const body = Readable.from(
      (async function* () {
        const chunk = Buffer.alloc(MiB, 0x5a);
        for (let i = 1; i <= 24; i++) {
          yield chunk;
          if (i === 12) {
            // Two 5 MiB parts are on their way: the multipart upload exists now.
            await new Promise((resolve) => setTimeout(resolve, 200));
            uploadsWhenAborted = await pendingUploads(prefix);
            controller.abort();
          }
        }
      })(),
      { objectMode: false },
    );
    await expectCode(storage.put("proof/aborted.bin", body, { signal: controller.signal }), "aborted");
    expect(uploadsWhenAborted).toEqual([`${prefix}proof/aborted.bin`]);
    expect(await pendingUploads(prefix)).toEqual([]);
    expect(await objectKeys(prefix)).toEqual([]);
    expect(await storage.exists("proof/aborted.bin")).toBe(false);
  });

  it("a multipart upload over maxBytes leaves no object and no parts", { timeout: 120_000 }, async () => {
    await expectCode(
      storage.put("proof/too-big.bin", patternStream(20 * MiB, 9), { maxBytes: 12 * MiB }),
      "too_large",
    );
    expect(await pendingUploads(prefix)).toEqual([]);
    expect(await objectKeys(prefix)).toEqual([]);
  });

  it("a body stream that fails mid-upload leaves no object and no parts", { timeout: 120_000 }, async () => {
    const body = Readable.from(
      (async function* () {
        for (let i = 0; i < 12; i++) yield Buffer.alloc(MiB, i);
        throw new Error("connection reset by peer");
      })(),
      { objectMode: false },
    );
    await expectCode(storage.put("proof/broken.bin", body), "aborted");
    expect(await pendingUploads(prefix)).toEqual([]);
    expect(await objectKeys(prefix)).toEqual([]);
  });

  it("stores keys under its prefix, so adapters with different prefixes never see each other", async () => {
    const other = await createS3Storage({ client, bucket: s3.bucket, prefix: newPrefix() });
    await storage.put("shared/name", "mine");
    await other.put("shared/name", "theirs");
    expect((await readAll((await storage.get("shared/name")).body)).toString()).toBe("mine");
    expect((await other.list()).items.map((i) => i.key)).toEqual(["shared/name"]);
    expect(await objectKeys(prefix)).toEqual([`${prefix}shared/name`]);
  });

  it("copies objects above maxCopyObjectBytes by streaming them, keeping metadata", {
    timeout: 60_000,
  }, async () => {
    const small = await createS3Storage({ client, bucket: s3.bucket, prefix, maxCopyObjectBytes: 1024 });
    await small.put("copy/src", patternStream(3 * MiB, 11), {
      contentType: "image/png",
      metadata: { k: "v" },
    });
    await small.copy("copy/src", "copy/dst");
    const got = await small.get("copy/dst");
    expect(got).toMatchObject({ contentType: "image/png", metadata: { k: "v" }, size: 3 * MiB });
    const { createHash } = await import("node:crypto");
    expect(
      createHash("sha256")
        .update(await readAll(got.body))
        .digest("hex"),
    ).toBe(patternSha256(3 * MiB, 11));
  });

  it("reports storage_unavailable from check() for a missing bucket or unknown credentials", async () => {
    await expectCode(
      (await createS3Storage({ client, bucket: "no-such-bucket-here" })).check(),
      "storage_unavailable",
    );
    const stranger = await createS3Storage({
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: "NOBODY", secretAccessKey: "wrong" },
    });
    const error = await expectCode(stranger.check(), "storage_unavailable");
    expect(error.status).toBe(503);
    await expectCode(stranger.put("x", "y"), "storage_unavailable");
    await stranger.close?.();
  });

  it("rejects invalid options", async () => {
    await expectCode(createS3Storage({ client, bucket: "" }), "invalid_argument");
    await expectCode(createS3Storage({ client, bucket: s3.bucket, partSize: MiB }), "invalid_argument");
    await expectCode(createS3Storage({ client, bucket: s3.bucket, queueSize: 0 }), "invalid_argument");
    await expectCode(createS3Storage({ client, bucket: s3.bucket, prefix: "/abs" }), "invalid_argument");
  });

  it("signed URLs expire and are bound to their key", async () => {
    await storage.put("signed/a", "A");
    const url = new URL(await storage.signedUrl!("signed/a", { method: "GET", expiresIn: 60 }));
    expect(url.searchParams.get("X-Amz-Expires")).toBe("60");
    expect(url.pathname).toBe(`/${s3.bucket}/${prefix}signed/a`);
    expect(url.searchParams.get("X-Amz-Signature")).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("createStorage with driver s3", () => {
  it("builds an adapter that owns its client from a validated config", async () => {
    const storage = await createStorage({
      driver: "s3",
      bucket: s3.bucket,
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { ...s3.credentials },
      prefix: newPrefix(),
      partSize: 6 * MiB,
      queueSize: 2,
    });
    expect(storage.driver).toBe("s3");
    await storage.check();
    await storage.put("from-config", "works", { contentType: "text/plain" });
    expect(await storage.head("from-config")).toMatchObject({ size: 5, contentType: "text/plain" });
    await storage.close?.();
  });
});
