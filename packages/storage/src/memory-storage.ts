/**
 * The in-process adapter, for tests and examples. Same semantics as the others: keys validated, puts
 * all-or-nothing (the object is swapped in only once the whole body was read), list in UTF-8 order.
 * Objects live in this process's heap until deleted; nothing is persisted.
 */
import { createHash } from "node:crypto";
import { compareKeys } from "./compare-keys.js";
import { destroyOnAbort, throwIfAborted } from "./internal/abort.js";
import { bodyChunks } from "./internal/body-chunks.js";
import { bufferStream } from "./internal/buffer-stream.js";
import { resolveRange, validateRange } from "./internal/byte-range.js";
import { notFoundError } from "./internal/errors.js";
import { encodeCursor, normalizeListOptions } from "./internal/list-options.js";
import { normalizePutOptions, tooLargeError } from "./internal/put-options.js";
import type {
  GetOptions,
  GetResult,
  ListOptions,
  ListResult,
  ObjectInfo,
  PutOptions,
  PutResult,
  StorageAdapter,
  StorageBody,
} from "./storage-adapter.js";
import { validateKey } from "./validate-key.js";

/**
 * Options of `createMemoryStorage()`.
 *
 * @example
 * ```ts
 * const storage = createMemoryStorage({ highWaterMark: 64 * 1024 });
 * ```
 */
export interface MemoryStorageOptions {
  /** Chunk size of `get()` streams in bytes; default 1 MiB. */
  highWaterMark?: number;
}

interface StoredObject {
  data: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  sha256: string;
  lastModified: Date;
}

/**
 * Creates an in-memory `StorageAdapter` (driver `"memory"`): for tests, examples and single-process
 * tools. Data is lost when the process exits.
 *
 * @example
 * ```ts
 * const storage = createMemoryStorage();
 * await storage.put("notes/a.txt", "hello", { contentType: "text/plain" });
 * (await storage.head("notes/a.txt")).size; // 5
 * ```
 */
export function createMemoryStorage(options: MemoryStorageOptions = {}): StorageAdapter {
  const chunkSize = options.highWaterMark ?? 1024 * 1024;
  const objects = new Map<string, StoredObject>();

  function find(key: string): StoredObject {
    const object = objects.get(key);
    if (!object) throw notFoundError(key);
    return object;
  }

  function info(key: string, object: StoredObject): ObjectInfo {
    return {
      key,
      size: object.data.byteLength,
      contentType: object.contentType,
      metadata: { ...object.metadata },
      etag: `"${object.sha256}"`,
      lastModified: new Date(object.lastModified),
    };
  }

  return {
    driver: "memory",

    async put(key: string, body: StorageBody, putOptions?: PutOptions): Promise<PutResult> {
      validateKey(key);
      const { contentType, metadata, maxBytes, signal } = normalizePutOptions(putOptions);
      const hash = createHash("sha256");
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of bodyChunks(body, signal)) {
        size += chunk.byteLength;
        if (maxBytes !== undefined && size > maxBytes) throw tooLargeError(maxBytes);
        hash.update(chunk);
        // Copy now: the caller may reuse its buffer after handing it over.
        chunks.push(Buffer.from(chunk));
      }
      throwIfAborted(signal, "the upload");
      const data = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
      const sha256 = hash.digest("hex");
      objects.set(key, { data, contentType, metadata, sha256, lastModified: new Date() });
      return { key, size, sha256, etag: `"${sha256}"`, contentType };
    },

    async get(key: string, getOptions: GetOptions = {}): Promise<GetResult> {
      validateKey(key);
      const requested = validateRange(getOptions.range);
      throwIfAborted(getOptions.signal, "the download");
      const object = find(key);
      const totalSize = object.data.byteLength;
      const range = resolveRange(requested, totalSize);
      const bytes = range ? object.data.subarray(range.start, range.end + 1) : object.data;
      const body = bufferStream(bytes, chunkSize);
      destroyOnAbort(body, getOptions.signal, "the download");
      const { metadata, contentType, etag, lastModified } = info(key, object);
      return {
        body,
        size: bytes.byteLength,
        totalSize,
        contentType,
        metadata,
        etag,
        lastModified,
        ...(range ? { range } : {}),
      };
    },

    async head(key: string): Promise<ObjectInfo> {
      validateKey(key);
      return info(key, find(key));
    },

    async exists(key: string): Promise<boolean> {
      validateKey(key);
      return objects.has(key);
    },

    async delete(key: string): Promise<void> {
      validateKey(key);
      objects.delete(key);
    },

    async copy(from: string, to: string): Promise<void> {
      validateKey(from);
      validateKey(to);
      // Buffers are never mutated after a put, so the copy can share them.
      objects.set(to, { ...find(from), lastModified: new Date() });
    },

    async move(from: string, to: string): Promise<void> {
      validateKey(from);
      validateKey(to);
      const object = find(from);
      if (from === to) return;
      objects.set(to, object);
      objects.delete(from);
    },

    async list(prefix = "", listOptions?: ListOptions): Promise<ListResult> {
      const { prefix: validPrefix, after, limit } = normalizeListOptions(prefix, listOptions);
      const keys = [...objects.keys()]
        .filter((key) => key.startsWith(validPrefix) && (after === undefined || compareKeys(key, after) > 0))
        .sort(compareKeys);
      const page = keys.slice(0, limit);
      const items = page.map((key) => {
        const object = objects.get(key) as StoredObject;
        return {
          key,
          size: object.data.byteLength,
          lastModified: new Date(object.lastModified),
          etag: `"${object.sha256}"`,
        };
      });
      const last = page.at(-1);
      return keys.length > limit && last !== undefined
        ? { items, nextCursor: encodeCursor(last) }
        : { items };
    },

    async check(): Promise<void> {},
  };
}
