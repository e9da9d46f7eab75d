/**
 * The S3 adapter (AWS S3 or any S3-compatible store). The AWS SDK is an optional peer dependency,
 * loaded with `import()` inside the factory, so `import "@cybernetic/storage"` never loads it.
 *
 * Uploads go through `@aws-sdk/lib-storage`'s `Upload`: one PutObject below `partSize`, multipart
 * above, `queueSize` parts in flight, so memory stays near `(queueSize + 1) × partSize` whatever the
 * object's size. SHA-256 is computed on the way through. On failure, abort or `maxBytes` the multipart
 * upload is aborted (`leavePartsOnError: false`) before `put()` rejects: no orphaned parts, and the
 * previous object (if any) is untouched, because S3 swaps an object in only on completion.
 */
import { Readable } from "node:stream";
import type { GetObjectCommandOutput, S3Client } from "@aws-sdk/client-s3";
import { abortedError, destroyOnAbort, throwIfAborted } from "./internal/abort.js";
import { resolveRange, validateRange } from "./internal/byte-range.js";
import { notFoundError, unavailableError } from "./internal/errors.js";
import { hashingSource } from "./internal/hashing-source.js";
import { encodeCursor, normalizeListOptions } from "./internal/list-options.js";
import { DEFAULT_CONTENT_TYPE, normalizePutOptions, validateContentType } from "./internal/put-options.js";
import type {
  GetOptions,
  GetResult,
  ListOptions,
  ListResult,
  ObjectInfo,
  PutOptions,
  PutResult,
  SignedUrlOptions,
  StorageAdapter,
  StorageBody,
} from "./storage-adapter.js";
import { StorageError } from "./storage-error.js";
import { MAX_KEY_BYTES, prefixProblem, validateKey } from "./validate-key.js";

/**
 * Options of `createS3Storage()`. Hand in a configured `client`, or let the adapter build one from
 * `region`, `endpoint`, `forcePathStyle` and `credentials` (then `close()` destroys it).
 *
 * @example
 * ```ts
 * const options: S3StorageOptions = {
 *   bucket: "cybernetic-artifacts",
 *   region: "eu-central-1",
 *   prefix: "prod/",
 * };
 * ```
 */
export interface S3StorageOptions {
  /** A ready S3 client; it stays yours (`close()` leaves it alone). */
  client?: S3Client;
  bucket: string;
  /** Default `us-east-1` (ignored when `client` is given, as are the three below). */
  region?: string;
  /** For S3-compatible stores, e.g. `http://127.0.0.1:9000`. */
  endpoint?: string;
  /** Address buckets as `endpoint/bucket/key` (most S3-compatible stores need it). */
  forcePathStyle?: boolean;
  /** Static credentials; default: the SDK's provider chain (env, profile, instance role…). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Multipart part size in bytes, ≥ 5 MiB; default 5 MiB. Raised automatically when `maxBytes` needs it. */
  partSize?: number;
  /** Parts uploaded concurrently; default 4. */
  queueSize?: number;
  /** Prepended to every key (e.g. `"tenants/"`), so one bucket can hold several stores. */
  prefix?: string;
  /**
   * Objects larger than this are copied by streaming them through this process instead of with
   * CopyObject, whose limit is 5 GiB; default 5 GiB.
   */
  maxCopyObjectBytes?: number;
}

type ClientModule = typeof import("@aws-sdk/client-s3");
type UploadModule = typeof import("@aws-sdk/lib-storage");
type PresignerModule = typeof import("@aws-sdk/s3-request-presigner");

const DRIVER = "s3";
const MiB = 1024 * 1024;
const MIN_PART_SIZE = 5 * MiB;
const MAX_PART_SIZE = 5 * 1024 * MiB;
const MAX_PARTS = 10_000;
const MAX_EXPIRES_IN = 7 * 24 * 60 * 60;

function invalidOption(field: string, message: string): StorageError {
  return new StorageError("invalid_argument", `invalid ${field}: ${message}`, { details: { field } });
}

function missingSdk(packages: string[], cause: unknown): StorageError {
  return new StorageError(
    "unsupported",
    `the s3 driver needs the optional package(s) ${packages.join(", ")}; install them next to @cybernetic/storage`,
    { cause, details: { driver: DRIVER, missing: packages } },
  );
}

/** Maps an SDK error to a StorageError. */
function mapError(error: unknown, operation: string, key?: string, signal?: AbortSignal): StorageError {
  if (StorageError.isInstance(error)) return error;
  if (signal?.aborted) return abortedError(signal, `the ${operation}`);
  const { name, $metadata } = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = $metadata?.httpStatusCode;
  if (name === "AbortError")
    return new StorageError("aborted", `the ${operation} was aborted`, { cause: error });
  if (
    key !== undefined &&
    (name === "NoSuchKey" || name === "NotFound" || (status === 404 && name !== "NoSuchBucket"))
  ) {
    return notFoundError(key);
  }
  if (name === "InvalidRange" || status === 416) {
    return new StorageError("invalid_range", "the requested range is not satisfiable", { cause: error });
  }
  if (name === "EntityTooLarge") {
    return new StorageError("too_large", "the object is too large for the store", { cause: error });
  }
  const mapped = unavailableError(error, DRIVER, operation);
  return new StorageError("storage_unavailable", mapped.message, {
    cause: error,
    details: {
      ...mapped.details,
      ...(name ? { s3Code: name } : {}),
      ...(status ? { httpStatus: status } : {}),
    },
  });
}

function parseTotal(contentRange: string | undefined): number | undefined {
  const match = /^bytes \d+-\d+\/(\d+)$/.exec(contentRange ?? "");
  return match ? Number(match[1]) : undefined;
}

function bodyToReadable(body: unknown): Readable {
  if (body instanceof Readable) return body;
  const web = body as { transformToWebStream?: () => ReadableStream<Uint8Array> } | undefined;
  if (web && typeof web.transformToWebStream === "function") {
    return Readable.fromWeb(
      web.transformToWebStream() as import("node:stream/web").ReadableStream<Uint8Array>,
    );
  }
  return Readable.from([], { objectMode: false });
}

/**
 * Creates the S3 `StorageAdapter` (driver `"s3"`). Async because it loads the AWS SDK on demand; throws
 * `unsupported` when `@aws-sdk/client-s3` or `@aws-sdk/lib-storage` is not installed. Signed URLs
 * additionally need `@aws-sdk/s3-request-presigner`, loaded on first use.
 *
 * @example
 * ```ts
 * const storage = await createS3Storage({
 *   bucket: "files",
 *   endpoint: "http://127.0.0.1:9000",
 *   forcePathStyle: true,
 *   credentials: { accessKeyId: "minio", secretAccessKey: "minio123" },
 * });
 * await storage.put("a.txt", "hello");
 * const url = await storage.signedUrl?.("a.txt", { method: "GET", expiresIn: 300 });
 * ```
 */
export async function createS3Storage(options: S3StorageOptions): Promise<StorageAdapter> {
  const {
    bucket,
    prefix: basePrefix = "",
    partSize = MIN_PART_SIZE,
    queueSize = 4,
    maxCopyObjectBytes = 5 * 1024 * MiB,
  } = options ?? ({} as S3StorageOptions);
  if (typeof bucket !== "string" || bucket === "") throw invalidOption("bucket", "expected a bucket name");
  if (prefixProblem(basePrefix))
    throw invalidOption("prefix", 'expected a valid key prefix such as "files/"');
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw invalidOption("partSize", "expected an integer from 5 MiB to 5 GiB");
  }
  if (!Number.isSafeInteger(queueSize) || queueSize < 1 || queueSize > 64) {
    throw invalidOption("queueSize", "expected an integer from 1 to 64");
  }
  if (!Number.isSafeInteger(maxCopyObjectBytes) || maxCopyObjectBytes < 0) {
    throw invalidOption("maxCopyObjectBytes", "expected a non-negative integer");
  }

  let s3: ClientModule;
  let lib: UploadModule;
  try {
    s3 = await import("@aws-sdk/client-s3");
  } catch (error) {
    throw missingSdk(["@aws-sdk/client-s3", "@aws-sdk/lib-storage"], error);
  }
  try {
    lib = await import("@aws-sdk/lib-storage");
  } catch (error) {
    throw missingSdk(["@aws-sdk/lib-storage"], error);
  }

  const ownsClient = options.client === undefined;
  const client =
    options.client ??
    new s3.S3Client({
      region: options.region ?? "us-east-1",
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.forcePathStyle === undefined ? {} : { forcePathStyle: options.forcePathStyle }),
      // A copy: the SDK annotates the credentials object it is given.
      ...(options.credentials ? { credentials: { ...options.credentials } } : {}),
    });
  let presigner: Promise<PresignerModule> | undefined;

  /** The S3 key of a (validated) storage key. */
  function s3Key(key: string): string {
    const full = basePrefix + key;
    if (Buffer.byteLength(full, "utf8") > MAX_KEY_BYTES) {
      throw new StorageError(
        "invalid_key",
        `invalid storage key (too_long): with the adapter's prefix it is over ${MAX_KEY_BYTES} bytes of UTF-8`,
        { details: { rule: "too_long", limit: MAX_KEY_BYTES - Buffer.byteLength(basePrefix, "utf8") } },
      );
    }
    return full;
  }

  function copySource(fullKey: string): string {
    return `${bucket}/${fullKey.split("/").map(encodeURIComponent).join("/")}`;
  }

  async function head(key: string): Promise<ObjectInfo> {
    const Key = s3Key(validateKey(key));
    try {
      const out = await client.send(new s3.HeadObjectCommand({ Bucket: bucket, Key }));
      return {
        key,
        size: out.ContentLength ?? 0,
        contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
        metadata: { ...(out.Metadata ?? {}) },
        etag: out.ETag ?? "",
        lastModified: out.LastModified ?? new Date(0),
      };
    } catch (error) {
      throw mapError(error, "head request", key);
    }
  }

  async function put(key: string, body: StorageBody, putOptions?: PutOptions): Promise<PutResult> {
    const Key = s3Key(validateKey(key));
    const { contentType, metadata, maxBytes, signal } = normalizePutOptions(putOptions);
    throwIfAborted(signal, "the upload");
    const source = hashingSource(body, { signal, maxBytes });
    const knownSize =
      typeof body === "string" ? Buffer.byteLength(body) : body instanceof Uint8Array ? body.byteLength : 0;
    // S3 allows 10,000 parts: raise the part size when the object may be larger than that many parts.
    const neededPartSize = Math.ceil(Math.max(maxBytes ?? 0, knownSize) / MAX_PARTS);
    // A failing or aborted source fails the upload, which then aborts the multipart upload before `done()`
    // rejects. Once the whole body has been read the object is being committed, and an abort is ignored.
    const upload = new lib.Upload({
      client,
      params: { Bucket: bucket, Key, Body: source.stream, ContentType: contentType, Metadata: metadata },
      partSize: Math.max(partSize, neededPartSize),
      queueSize,
      leavePartsOnError: false,
    });
    try {
      const result = await upload.done();
      return { key, size: source.size, sha256: source.digest(), etag: result.ETag, contentType };
    } catch (error) {
      throw mapError(error, "upload");
    } finally {
      source.release();
    }
  }

  async function remove(key: string): Promise<void> {
    const Key = s3Key(validateKey(key));
    try {
      await client.send(new s3.DeleteObjectCommand({ Bucket: bucket, Key }));
    } catch (error) {
      // S3 answers 204 for a missing key; an S3-compatible store may say 404. Either way: gone.
      const mapped = mapError(error, "delete", key);
      if (mapped.code !== "not_found") throw mapped;
    }
  }

  async function get(key: string, getOptions: GetOptions = {}): Promise<GetResult> {
    const Key = s3Key(validateKey(key));
    const requested = validateRange(getOptions.range);
    const { signal } = getOptions;
    throwIfAborted(signal, "the download");
    const Range = requested ? `bytes=${requested.start}-${requested.end ?? ""}` : undefined;
    // The caller's signal aborts the request only until the response arrives; after that it destroys
    // the body with our own `aborted` error (below), not the SDK's.
    const request = new AbortController();
    const forward = () => request.abort(signal?.reason);
    signal?.addEventListener("abort", forward, { once: true });
    let out: GetObjectCommandOutput;
    try {
      out = await client.send(new s3.GetObjectCommand({ Bucket: bucket, Key, ...(Range ? { Range } : {}) }), {
        abortSignal: request.signal,
      });
    } catch (error) {
      throw mapError(error, "download", key, signal);
    } finally {
      signal?.removeEventListener("abort", forward);
    }
    const body = bodyToReadable(out.Body);
    const totalSize = (requested ? parseTotal(out.ContentRange) : out.ContentLength) ?? 0;
    let range: { start: number; end: number } | undefined;
    try {
      // Stores differ on ranges of empty objects (S3 answers 416, some serve "bytes 0-0/0"): resolve
      // the range ourselves so every store behaves like S3.
      range = resolveRange(requested, totalSize);
    } catch (error) {
      body.destroy();
      throw error;
    }
    destroyOnAbort(body, signal, "the download");
    return {
      body,
      size: out.ContentLength ?? (range ? range.end - range.start + 1 : totalSize),
      totalSize,
      contentType: out.ContentType ?? DEFAULT_CONTENT_TYPE,
      metadata: { ...(out.Metadata ?? {}) },
      etag: out.ETag ?? "",
      lastModified: out.LastModified ?? new Date(0),
      ...(range ? { range } : {}),
    };
  }

  async function copy(from: string, to: string): Promise<void> {
    s3Key(validateKey(from));
    const target = s3Key(validateKey(to));
    const source = await head(from);
    if (from === to) return;
    if (source.size > maxCopyObjectBytes) {
      const { body } = await get(from);
      try {
        await put(to, body, { contentType: source.contentType, metadata: source.metadata });
      } finally {
        body.destroy();
      }
      return;
    }
    try {
      await client.send(
        new s3.CopyObjectCommand({
          Bucket: bucket,
          Key: target,
          CopySource: copySource(s3Key(from)),
          MetadataDirective: "COPY",
        }),
      );
    } catch (error) {
      throw mapError(error, "copy", from);
    }
  }

  return {
    driver: DRIVER,
    put,
    get,
    head,

    async exists(key: string): Promise<boolean> {
      try {
        await head(key);
        return true;
      } catch (error) {
        if (StorageError.isInstance(error) && error.code === "not_found") return false;
        throw error;
      }
    },

    delete: remove,
    copy,

    async move(from: string, to: string): Promise<void> {
      // S3 has no rename: copy, then delete the source. A reader may briefly see both keys.
      await copy(from, to);
      if (from !== to) await remove(from);
    },

    async list(prefix = "", listOptions?: ListOptions): Promise<ListResult> {
      const { prefix: validPrefix, after, limit } = normalizeListOptions(prefix, listOptions);
      try {
        const out = await client.send(
          new s3.ListObjectsV2Command({
            Bucket: bucket,
            Prefix: basePrefix + validPrefix,
            MaxKeys: limit,
            ...(after === undefined ? {} : { StartAfter: basePrefix + after }),
          }),
        );
        const items = (out.Contents ?? []).map((object) => ({
          key: (object.Key ?? "").slice(basePrefix.length),
          size: object.Size ?? 0,
          lastModified: object.LastModified ?? new Date(0),
          ...(object.ETag ? { etag: object.ETag } : {}),
        }));
        const last = items.at(-1);
        return out.IsTruncated && last ? { items, nextCursor: encodeCursor(last.key) } : { items };
      } catch (error) {
        throw mapError(error, "list");
      }
    },

    async signedUrl(key: string, urlOptions: SignedUrlOptions): Promise<string> {
      const Key = s3Key(validateKey(key));
      const { expiresIn, method, contentType } = urlOptions ?? ({} as SignedUrlOptions);
      if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_EXPIRES_IN) {
        throw invalidOption("expiresIn", `expected whole seconds from 1 to ${MAX_EXPIRES_IN}`);
      }
      if (method !== "GET" && method !== "PUT") throw invalidOption("method", 'expected "GET" or "PUT"');
      if (contentType !== undefined) validateContentType(contentType);
      presigner ??= import("@aws-sdk/s3-request-presigner");
      let getSignedUrl: PresignerModule["getSignedUrl"];
      try {
        ({ getSignedUrl } = await presigner);
      } catch (error) {
        presigner = undefined;
        throw missingSdk(["@aws-sdk/s3-request-presigner"], error);
      }
      const command =
        method === "GET"
          ? new s3.GetObjectCommand({ Bucket: bucket, Key })
          : new s3.PutObjectCommand({
              Bucket: bucket,
              Key,
              ...(contentType ? { ContentType: contentType } : {}),
            });
      try {
        return await getSignedUrl(client, command, { expiresIn });
      } catch (error) {
        throw mapError(error, "signing of a URL");
      }
    },

    async check(): Promise<void> {
      try {
        await client.send(new s3.HeadBucketCommand({ Bucket: bucket }));
      } catch (error) {
        const mapped = mapError(error, "readiness check");
        throw new StorageError(
          "storage_unavailable",
          `bucket ${JSON.stringify(bucket)} is not reachable: ${mapped.message}`,
          {
            cause: error,
            details: { ...mapped.details, bucket },
          },
        );
      }
    },

    async close(): Promise<void> {
      if (ownsClient) client.destroy();
    },
  };
}
