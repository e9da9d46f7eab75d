/**
 * An S3 for tests: s3rver on a random loopback port with a temp directory, or the real S3 named by
 * S3_ENDPOINT / S3_BUCKET / S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY / S3_REGION when those are set.
 *
 * s3rver 3.7 is not S3 in a few ways that matter to a storage adapter, so this file brings it closer
 * to the real protocol (it patches the fake server, never our code):
 * - GetObject read `Range: bytes=0-0` as the whole object and answered ranges of empty objects with
 *   "bytes 0-0/0"; it is reimplemented with S3's range rules.
 * - PutObject wrote in place and answered before the file was flushed, so a reader could see half an
 *   object and two writers could interleave. Here it writes a temp file and renames it, and object
 *   reads, writes and deletes of one key are serialised, so content and metadata always match.
 * - ListObjectsV2 listed in directory order (not UTF-8 order) and crashed building continuation tokens
 *   on OpenSSL 3; ListMultipartUploads and AbortMultipartUpload were missing; CopyObject decoded
 *   `x-amz-copy-source` with `decodeURI`, so keys with `?`, `#`, `+`… could not be copied. Each is
 *   reimplemented below, behind s3rver's own authentication middleware.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { CreateBucketCommand, HeadBucketCommand, S3Client } from "@aws-sdk/client-s3";
import S3rver, { type FilesystemStore, type S3rverContext, type StoredObject } from "s3rver";
import authentication from "s3rver/lib/middleware/authentication.js";
import S3Error from "s3rver/lib/models/error.js";
import S3Object from "s3rver/lib/models/object.js";

/** Where the tests' S3 is and how to reach it. */
export interface TestS3 {
  /** `"s3rver"` when started here, `"external"` when named by env vars. */
  kind: "s3rver" | "external";
  endpoint: string;
  region: string;
  bucket: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** A new client for this S3 (the caller destroys it). */
  client(): S3Client;
  /** Stops the server (s3rver) and removes its files. */
  close(): Promise<void>;
}

const OBJECT_SUFFIX = "._S3rver_object";
const UPLOADS_DIR = "._S3rver_uploads";
const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";

/** Starts (or connects to) the tests' S3 and makes sure the bucket exists. */
export async function startTestS3(bucket = "cybernetic-test"): Promise<TestS3> {
  const env = process.env;
  if (env.S3_ENDPOINT) {
    const s3: TestS3 = {
      kind: "external",
      endpoint: env.S3_ENDPOINT,
      region: env.S3_REGION ?? "us-east-1",
      bucket: env.S3_BUCKET ?? bucket,
      credentials: {
        accessKeyId: env.S3_ACCESS_KEY_ID ?? "",
        secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? "",
      },
      client: () => clientFor(s3),
      close: async () => {},
    };
    const client = s3.client();
    try {
      await client.send(new HeadBucketCommand({ Bucket: s3.bucket }));
    } catch {
      await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
    } finally {
      client.destroy();
    }
    return s3;
  }

  const directory = await mkdtemp(join(tmpdir(), "cybernetic-s3rver-"));
  const scratch = `${directory}-tmp`;
  await mkdir(scratch);
  const server = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  patchStore(server.store, scratch);
  // s3rver's middleware: logger, XML encoder, mount path, vhost, router. Ours goes before the router.
  server.middleware.splice(server.middleware.length - 1, 0, extensions());
  const { port } = await server.run();
  const s3: TestS3 = {
    kind: "s3rver",
    endpoint: `http://127.0.0.1:${port}`,
    region: "us-east-1",
    bucket,
    // s3rver's built-in account.
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
    client: () => clientFor(s3),
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
      await rm(scratch, { recursive: true, force: true });
    },
  };
  return s3;
}

function clientFor(s3: TestS3): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { ...s3.credentials },
  });
}

// ---------------------------------------------------------------------------------------------------
// Store patches: atomic writes and per-key serialisation.

function patchStore(store: FilesystemStore, scratch: string): void {
  const locks = new Map<string, Promise<void>>();
  async function withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const previous = locks.get(id) ?? Promise.resolve();
    let release = () => {};
    const current = new Promise<void>((resolve) => {
      release = resolve;
    });
    const chained = previous.then(() => current);
    locks.set(id, chained);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (locks.get(id) === chained) locks.delete(id);
    }
  }

  const deleteObject = store.deleteObject.bind(store);

  // Reimplemented because s3rver read `bytes=0-0` as the whole object and served "bytes 0-0/0" for
  // ranges of empty objects. The file is opened before the lock is released, so a reader gets one
  // version, whole, even if a writer renames a new one in right after.
  store.getObject = (bucket, key, options) =>
    withLock(`${bucket}/${key}`, async () => {
      let metadata: Record<string, string>;
      try {
        metadata = await store.getMetadata(bucket, key);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
        throw error;
      }
      const size = Number(metadata["content-length"]);
      const ranged = options !== undefined && (options.start !== undefined || options.end !== undefined);
      const start = options?.start ?? 0;
      const end = Math.min(options?.end ?? size - 1, size - 1);
      if (ranged && !(Number.isInteger(start) && start >= 0 && start <= end)) {
        const unsatisfiable = new S3Object(bucket, key, null, metadata);
        return Object.assign(unsatisfiable, { range: { start, end } });
      }
      const path = store.getResourcePath(bucket, key, "object");
      const content = createReadStream(path, ranged ? { start, end } : {});
      await new Promise<void>((resolve, reject) =>
        content.once("open", () => resolve()).once("error", reject),
      );
      const object = new S3Object(bucket, key, content, metadata);
      return ranged ? Object.assign(object, { range: { start, end } }) : object;
    });
  store.deleteObject = (bucket, key) => withLock(`${bucket}/${key}`, () => deleteObject(bucket, key));
  store.putObject = (object: StoredObject) =>
    withLock(`${object.bucket}/${object.key}`, async () => {
      const objectPath = store.getResourcePath(object.bucket, object.key, "object");
      const temp = join(scratch, randomUUID());
      const md5 = createHash("md5");
      let size = 0;
      const content = Buffer.isBuffer(object.content)
        ? Readable.from([object.content])
        : (object.content ?? Readable.from([]));
      await pipeline(
        content,
        new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        }),
        createWriteStream(temp),
      );
      for (let attempt = 1; ; attempt++) {
        await mkdir(dirname(objectPath), { recursive: true });
        try {
          await rename(temp, objectPath);
          break;
        } catch (error) {
          // A delete of a sibling may have removed the (empty) directory meanwhile.
          if ((error as NodeJS.ErrnoException).code !== "ENOENT" || attempt > 5) throw error;
        }
      }
      const digest = md5.digest("hex");
      await store.putMetadata(object.bucket, object.key, object.metadata, digest);
      return { size, md5: digest };
    });
}

// ---------------------------------------------------------------------------------------------------
// Protocol extensions.

function header(ctx: S3rverContext, name: string): string | undefined {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The S3 key order: UTF-8 bytes. Written independently of the package's own comparison on purpose. */
function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

async function listKeys(store: FilesystemStore, bucket: string): Promise<string[]> {
  const root = store.getBucketPath(bucket);
  const entries = await readdir(root, { recursive: true });
  return entries
    .filter((path) => path.endsWith(OBJECT_SUFFIX) && !path.startsWith(UPLOADS_DIR))
    .map((path) => relative(root, join(root, path)).split(sep).join("/").slice(0, -OBJECT_SUFFIX.length));
}

async function listObjectsV2(ctx: S3rverContext, bucket: string): Promise<void> {
  if (ctx.query.delimiter)
    throw new S3Error("NotImplemented", "delimiter is not supported by the test server");
  const prefix = ctx.query.prefix ?? "";
  const token = ctx.query["continuation-token"];
  const after = token ? Buffer.from(token, "base64url").toString("utf8") : (ctx.query["start-after"] ?? "");
  const maxKeys = Math.min(1000, Number(ctx.query["max-keys"] ?? 1000));
  const keys = (await listKeys(ctx.store, bucket))
    .filter((key) => key.startsWith(prefix) && byUtf8(key, after) > 0)
    .sort(byUtf8);
  const page = keys.slice(0, maxKeys);
  const truncated = keys.length > maxKeys;
  const contents = [];
  for (const key of page) {
    const metadata = await ctx.store.getMetadata(bucket, key).catch(() => undefined);
    if (!metadata) continue;
    contents.push({
      Key: key,
      LastModified: new Date(metadata["last-modified"] as string).toISOString(),
      ETag: metadata.etag,
      Size: Number(metadata["content-length"]),
      StorageClass: "STANDARD",
    });
  }
  const last = page.at(-1);
  ctx.body = {
    ListBucketResult: {
      "@": { xmlns: XMLNS },
      Name: bucket,
      Prefix: prefix,
      ...(token ? { ContinuationToken: token } : ctx.query["start-after"] ? { StartAfter: after } : {}),
      ...(truncated && last
        ? { NextContinuationToken: Buffer.from(last, "utf8").toString("base64url") }
        : {}),
      KeyCount: contents.length,
      MaxKeys: maxKeys,
      IsTruncated: truncated,
      Contents: contents,
    },
  };
}

function uploadsPath(store: FilesystemStore, bucket: string): string {
  return store.getResourcePath(bucket, undefined, "uploads");
}

async function listMultipartUploads(ctx: S3rverContext, bucket: string): Promise<void> {
  const dir = uploadsPath(ctx.store, bucket);
  const ids = await readdir(dir).catch(() => [] as string[]);
  const uploads = [];
  for (const id of ids) {
    const key = await readFile(join(dir, id, "key"), "utf8").catch(() => undefined);
    if (key === undefined || !key.startsWith(ctx.query.prefix ?? "")) continue;
    const { mtime } = await stat(join(dir, id));
    uploads.push({ Key: key, UploadId: id, Initiated: mtime.toISOString(), StorageClass: "STANDARD" });
  }
  uploads.sort((a, b) => byUtf8(a.Key, b.Key));
  ctx.body = {
    ListMultipartUploadsResult: {
      "@": { xmlns: XMLNS },
      Bucket: bucket,
      KeyMarker: "",
      UploadIdMarker: "",
      MaxUploads: 1000,
      IsTruncated: false,
      Upload: uploads,
    },
  };
}

async function abortMultipartUpload(ctx: S3rverContext, bucket: string, uploadId: string): Promise<void> {
  const dir = join(uploadsPath(ctx.store, bucket), uploadId);
  if (!/^[0-9a-f]+$/.test(uploadId) || !(await stat(dir).catch(() => undefined))) {
    throw new S3Error("NoSuchUpload", "The specified upload does not exist.", { UploadId: uploadId });
  }
  await rm(dir, { recursive: true, force: true });
  ctx.status = 204;
}

async function copyObject(ctx: S3rverContext, bucket: string, key: string): Promise<void> {
  const raw = (header(ctx, "x-amz-copy-source") ?? "").split("?")[0] as string;
  const source = decodeURIComponent(raw.startsWith("/") ? raw.slice(1) : raw);
  const slash = source.indexOf("/");
  const sourceBucket = source.slice(0, slash);
  const sourceKey = source.slice(slash + 1);
  if (slash < 1 || !(await ctx.store.getBucket(sourceBucket))) {
    throw new S3Error("NoSuchBucket", "The specified bucket does not exist", { BucketName: sourceBucket });
  }
  const replace = header(ctx, "x-amz-metadata-directive") === "REPLACE";
  if (sourceBucket === bucket && sourceKey === key && !replace) {
    throw new S3Error(
      "InvalidRequest",
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata.",
    );
  }
  const object = await ctx.store.getObject(sourceBucket, sourceKey);
  if (!object) throw new S3Error("NoSuchKey", "The specified key does not exist.", { Key: sourceKey });
  const metadata = replace ? (ctx.headers as Record<string, string>) : object.metadata;
  await ctx.store.putObject(new S3Object(bucket, key, object.content, metadata));
  const stored = await ctx.store.getMetadata(bucket, key);
  ctx.body = {
    CopyObjectResult: {
      LastModified: new Date(stored["last-modified"] as string).toISOString(),
      ETag: stored.etag,
    },
  };
}

function extensions() {
  const authenticate = authentication();
  return async (ctx: S3rverContext, next: () => Promise<void>): Promise<void> => {
    const [bucketPart, ...keyParts] = ctx.path.slice(1).split("/");
    const bucket = decodeURIComponent(bucketPart ?? "");
    const key = keyParts.map(decodeURIComponent).join("/");
    let handler: (() => Promise<void>) | undefined;
    if (ctx.method === "GET" && bucket && !key && ctx.query["list-type"] === "2") {
      handler = () => listObjectsV2(ctx, bucket);
    } else if (ctx.method === "GET" && bucket && !key && "uploads" in ctx.query) {
      handler = () => listMultipartUploads(ctx, bucket);
    } else if (ctx.method === "DELETE" && bucket && key && ctx.query.uploadId) {
      const uploadId = ctx.query.uploadId;
      handler = () => abortMultipartUpload(ctx, bucket, uploadId);
    } else if (
      ctx.method === "PUT" &&
      bucket &&
      key &&
      header(ctx, "x-amz-copy-source") &&
      !ctx.query.uploadId
    ) {
      handler = () => copyObject(ctx, bucket, key);
    }
    if (!handler) return next();
    ctx.params = { bucket, ...(key ? { key } : {}) };
    const run = handler;
    await authenticate(ctx, async () => {
      if (!(await ctx.store.getBucket(bucket))) {
        throw new S3Error("NoSuchBucket", "The specified bucket does not exist", { BucketName: bucket });
      }
      await run();
    });
  };
}
