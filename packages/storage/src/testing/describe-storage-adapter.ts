/**
 * The conformance suite every `StorageAdapter` passes (local, S3, memory, and any third party's).
 * It runs under vitest (an optional peer dependency of this package).
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";
import { buffer as readAll } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { StorageAdapter, StorageBody } from "../storage-adapter.js";
import { StorageError, type StorageErrorCode, storageErrorStatus } from "../storage-error.js";
import { validateKey } from "../validate-key.js";
import { hostileKeys, maxLengthKey, trickyKeys } from "./hostile-keys.js";
import { patternChunks, patternSha256, patternStream } from "./pattern-stream.js";

/**
 * A fresh, empty adapter for one test, with optional hooks.
 *
 * @example
 * ```ts
 * const fixture: StorageAdapterFixture = {
 *   adapter: await createLocalStorage({ root }),
 *   reopen: () => createLocalStorage({ root }),
 *   cleanup: () => rm(root, { recursive: true }),
 * };
 * ```
 */
export interface StorageAdapterFixture {
  adapter: StorageAdapter;
  /** A second adapter over the same data, as after a restart; enables the persistence tests. */
  reopen?: () => Promise<StorageAdapter> | StorageAdapter;
  /** Runs after the test (after `adapter.close()`), e.g. to remove a temp directory. */
  cleanup?: () => Promise<void> | void;
}

/**
 * Makes a fresh, empty adapter (or fixture) for each test.
 *
 * @example
 * ```ts
 * const factory: StorageAdapterFactory = () => createMemoryStorage();
 * ```
 */
export type StorageAdapterFactory = () =>
  | StorageAdapter
  | StorageAdapterFixture
  | Promise<StorageAdapter | StorageAdapterFixture>;

/**
 * Tuning of `describeStorageAdapter()`.
 *
 * @example
 * ```ts
 * describeStorageAdapter("s3", factory, { largeObjectBytes: 12 << 20, maxKeyBytes: 1000 });
 * ```
 */
export interface DescribeStorageAdapterOptions {
  /** Size of the large-stream tests; default 6 MiB (past S3's 5 MiB part size). */
  largeObjectBytes?: number;
  /** Longest key the adapter accepts, in bytes; default 1,024 (less when an S3 prefix is added). */
  maxKeyBytes?: number;
  /** Per-test timeout in ms; default 60,000. */
  timeout?: number;
}

const MiB = 1024 * 1024;
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

function sha256(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** The order every adapter lists in: UTF-8 bytes. Deliberately not the package's own comparison. */
function byUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the operation to fail, but it succeeded");
}

/** Asserts that `promise` rejects with a StorageError of `code` (and `details.rule`, when given). */
async function expectStorageError(
  promise: Promise<unknown>,
  code: StorageErrorCode,
  details?: Record<string, unknown>,
): Promise<StorageError> {
  const error = await caught(promise);
  expect(StorageError.isInstance(error), `expected a StorageError, got ${String(error)}`).toBe(true);
  const storageError = error as StorageError;
  expect(storageError.code).toBe(code);
  expect(storageError.status).toBe(storageErrorStatus[code]);
  expect(typeof storageError.message).toBe("string");
  if (details) expect(storageError.details).toMatchObject(details);
  return storageError;
}

async function text(storage: StorageAdapter, key: string): Promise<string> {
  const { body } = await storage.get(key);
  return (await readAll(body)).toString("utf8");
}

async function listAll(storage: StorageAdapter, prefix = "", limit?: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    const result = await storage.list(prefix, { ...(cursor ? { cursor } : {}), ...(limit ? { limit } : {}) });
    if (limit) expect(result.items.length).toBeLessThanOrEqual(limit);
    keys.push(...result.items.map((item) => item.key));
    cursor = result.nextCursor;
    if (!cursor) return keys;
  }
  throw new Error("list() never ended");
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A body that yields `chunks` chunks of 256 KiB, calls `onChunk(n)` after each, and pauses between
 * chunks so an abort can land mid-stream.
 */
function slowBody(chunks: number, onChunk: (n: number) => void): Readable {
  return Readable.from(
    (async function* () {
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      for (let n = 1; n <= chunks; n++) {
        yield chunk;
        onChunk(n);
        await pause(5);
      }
    })(),
    { objectMode: false },
  );
}

function isFixture(value: StorageAdapter | StorageAdapterFixture): value is StorageAdapterFixture {
  return "adapter" in value && typeof (value as Partial<StorageAdapter>).put !== "function";
}

/**
 * Registers the `StorageAdapter` conformance suite: every operation, every error, 40+ hostile keys,
 * large streams, aborts, concurrent writers, ranges, pagination, copy/move and metadata. `factory`
 * is called before each test and must return an empty adapter (e.g. a new temp directory, or a new
 * S3 prefix); after each test the adapter is closed and the fixture's `cleanup` runs.
 *
 * @example
 * ```ts
 * import { describeStorageAdapter } from "@cybernetic/storage/testing";
 * import { createMemoryStorage } from "@cybernetic/storage";
 *
 * describeStorageAdapter("memory", () => createMemoryStorage());
 * ```
 */
export function describeStorageAdapter(
  name: string,
  factory: StorageAdapterFactory,
  options: DescribeStorageAdapterOptions = {},
): void {
  const large = options.largeObjectBytes ?? 6 * MiB;
  const maxKeyBytes = options.maxKeyBytes ?? 1024;
  const timeout = options.timeout ?? 60_000;

  describe(`StorageAdapter conformance: ${name}`, () => {
    let fixture: StorageAdapterFixture;
    let storage: StorageAdapter;
    const reopened: StorageAdapter[] = [];

    beforeEach(async () => {
      const made = await factory();
      fixture = isFixture(made) ? made : { adapter: made };
      storage = fixture.adapter;
    });

    afterEach(async () => {
      for (const adapter of reopened.splice(0)) await adapter.close?.();
      await storage.close?.();
      await fixture.cleanup?.();
    });

    describe("put and get", () => {
      it("stores a string as UTF-8 and returns its size, SHA-256 and default content type", {
        timeout,
      }, async () => {
        const body = "héllo, wörld ✓";
        const result = await storage.put("greeting.txt", body);
        const bytes = Buffer.from(body, "utf8");
        expect(result).toMatchObject({
          key: "greeting.txt",
          size: bytes.byteLength,
          sha256: sha256(bytes),
          contentType: "application/octet-stream",
        });
        const got = await storage.get("greeting.txt");
        expect(got.size).toBe(bytes.byteLength);
        expect(got.totalSize).toBe(bytes.byteLength);
        expect(got.contentType).toBe("application/octet-stream");
        expect(got.metadata).toEqual({});
        expect(got.range).toBeUndefined();
        expect(got.body).toBeInstanceOf(Readable);
        expect(await readAll(got.body)).toEqual(bytes);
      });

      it("accepts Uint8Array, Buffer, web ReadableStream and Node Readable bodies", { timeout }, async () => {
        const bytes = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));
        const web = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new Uint8Array(bytes.subarray(0, 1000)));
            controller.enqueue(new Uint8Array(bytes.subarray(1000)));
            controller.close();
          },
        });
        const bodies: Record<string, StorageBody> = {
          uint8array: new Uint8Array(bytes),
          buffer: Buffer.from(bytes),
          web,
          node: Readable.from([bytes.subarray(0, 10), bytes.subarray(10, 2999), bytes.subarray(2999)], {
            objectMode: false,
          }),
          strings: Readable.from(["ab", "cd"]),
        };
        for (const [kind, body] of Object.entries(bodies)) {
          const result = await storage.put(`bodies/${kind}`, body);
          const expected = kind === "strings" ? Buffer.from("abcd") : bytes;
          expect(result.size, kind).toBe(expected.byteLength);
          expect(result.sha256, kind).toBe(sha256(expected));
          expect(await readAll((await storage.get(`bodies/${kind}`)).body), kind).toEqual(expected);
        }
      });

      it("rejects a body that is not bytes, a string or a stream, storing nothing", { timeout }, async () => {
        for (const body of [42, {}, null, [1, 2]] as unknown as StorageBody[]) {
          await expectStorageError(storage.put("bad-body", body), "invalid_argument", { field: "body" });
        }
        await expectStorageError(
          storage.put("bad-chunks", Readable.from([{ not: "bytes" }])),
          "invalid_argument",
          { field: "body" },
        );
        expect(await storage.exists("bad-body")).toBe(false);
        expect(await storage.exists("bad-chunks")).toBe(false);
      });

      it("stores an empty object", { timeout }, async () => {
        const result = await storage.put("empty", "");
        expect(result).toMatchObject({ size: 0, sha256: EMPTY_SHA256 });
        const got = await storage.get("empty");
        expect(got.size).toBe(0);
        expect(got.totalSize).toBe(0);
        expect((await readAll(got.body)).byteLength).toBe(0);
        expect((await storage.head("empty")).size).toBe(0);
        expect((await storage.list("empty")).items).toMatchObject([{ key: "empty", size: 0 }]);
      });

      it("streams a large object in and out with a matching SHA-256", { timeout }, async () => {
        const expected = patternSha256(large, 1);
        const result = await storage.put("large/object.bin", patternStream(large, 1), {
          contentType: "application/x-test",
        });
        expect(result.size).toBe(large);
        expect(result.sha256).toBe(expected);
        const got = await storage.get("large/object.bin");
        expect(got.size).toBe(large);
        const hash = createHash("sha256");
        let bytes = 0;
        for await (const chunk of got.body) {
          hash.update(chunk as Buffer);
          bytes += (chunk as Buffer).byteLength;
        }
        expect(bytes).toBe(large);
        expect(hash.digest("hex")).toBe(expected);
        expect((await storage.head("large/object.bin")).size).toBe(large);
      });

      it("replaces an object whole: new bytes, new content type, new metadata, old metadata gone", {
        timeout,
      }, async () => {
        await storage.put("doc", "version one", {
          contentType: "text/plain",
          metadata: { v: "1", old: "yes" },
        });
        const second = await storage.put("doc", "v2", { contentType: "text/markdown", metadata: { v: "2" } });
        const head = await storage.head("doc");
        expect(head).toMatchObject({ size: 2, contentType: "text/markdown", metadata: { v: "2" } });
        expect(head.metadata).not.toHaveProperty("old");
        if (second.etag !== undefined) expect(head.etag).toBe(second.etag);
        expect(await text(storage, "doc")).toBe("v2");
      });

      it("round-trips content type and metadata exactly", { timeout }, async () => {
        const metadata = {
          author: "ops-team",
          "x.y_z-1": 'hello world; x=1, y="2" (ok)',
          empty: "",
          [`n${"a".repeat(127)}`]: "max-length name",
        };
        const contentType = "text/plain; charset=utf-8";
        const result = await storage.put("meta/doc.txt", "body", { contentType, metadata });
        expect(result.contentType).toBe(contentType);
        const head = await storage.head("meta/doc.txt");
        expect(head.key).toBe("meta/doc.txt");
        expect(head.size).toBe(4);
        expect(head.contentType).toBe(contentType);
        expect(head.metadata).toEqual(metadata);
        expect(typeof head.etag).toBe("string");
        expect(head.lastModified).toBeInstanceOf(Date);
        expect(Math.abs(head.lastModified.getTime() - Date.now())).toBeLessThan(15 * 60 * 1000);
        const got = await storage.get("meta/doc.txt");
        expect(got.contentType).toBe(contentType);
        expect(got.metadata).toEqual(metadata);
        expect(got.etag).toBe(head.etag);
        await readAll(got.body);
      });

      it("rejects invalid metadata and content types, storing nothing", { timeout }, async () => {
        const badMetadata: unknown[] = [
          { Author: "x" },
          { "-x": "y" },
          { "a b": "y" },
          { "x-é": "y" },
          { a: "é" },
          { a: " padded" },
          { a: "padded " },
          { a: "line\nbreak" },
          { a: 42 },
          { [`n${"a".repeat(128)}`]: "name too long" },
          { a: "x".repeat(1100), b: "y".repeat(1000) },
          "not an object",
          ["a"],
        ];
        for (const metadata of badMetadata) {
          await expectStorageError(
            storage.put("meta/bad", "x", { metadata: metadata as Record<string, string> }),
            "invalid_argument",
            { field: "metadata" },
          );
        }
        for (const contentType of [
          "text",
          "",
          "text/plain\r\nx-evil: 1",
          "tëxt/plain",
          " text/plain",
          "a/b ",
        ]) {
          await expectStorageError(storage.put("meta/bad", "x", { contentType }), "invalid_argument", {
            field: "contentType",
          });
        }
        for (const maxBytes of [-1, 1.5, Number.NaN]) {
          await expectStorageError(storage.put("meta/bad", "x", { maxBytes }), "invalid_argument", {
            field: "maxBytes",
          });
        }
        expect(await storage.exists("meta/bad")).toBe(false);
      });

      it("throws not_found for a missing key from get and head; exists is false", { timeout }, async () => {
        await expectStorageError(storage.get("missing/key"), "not_found", { key: "missing/key" });
        await expectStorageError(storage.head("missing/key"), "not_found");
        expect(await storage.exists("missing/key")).toBe(false);
        await storage.put("present", "x");
        expect(await storage.exists("present")).toBe(true);
        expect(await storage.exists("present/child")).toBe(false);
        expect(await storage.exists("pres")).toBe(false);
      });

      it("lets a reader that opened an object finish it whole while the key is replaced", {
        timeout,
      }, async () => {
        await storage.put("race/reader", patternStream(MiB, 2));
        const reading = await storage.get("race/reader");
        await storage.put("race/reader", "short replacement");
        const bytes = await readAll(reading.body);
        expect(bytes.byteLength).toBe(MiB);
        expect(sha256(bytes)).toBe(patternSha256(MiB, 2));
        expect(await text(storage, "race/reader")).toBe("short replacement");
      });
    });

    describe("byte ranges", () => {
      const content = "0123456789abcdefghij";

      it("serves inclusive ranges and reports size, totalSize and the range served", {
        timeout,
      }, async () => {
        await storage.put("range.txt", content, { contentType: "text/plain", metadata: { kind: "range" } });
        const cases = [
          { range: { start: 0, end: 0 }, expected: "0" },
          { range: { start: 2, end: 5 }, expected: "2345" },
          { range: { start: 10 }, expected: "abcdefghij" },
          { range: { start: 15, end: 1000 }, expected: "fghij" },
          { range: { start: 19, end: 19 }, expected: "j" },
          { range: { start: 0, end: 19 }, expected: content },
        ];
        for (const { range, expected } of cases) {
          const got = await storage.get("range.txt", { range });
          expect((await readAll(got.body)).toString(), JSON.stringify(range)).toBe(expected);
          expect(got.size).toBe(expected.length);
          expect(got.totalSize).toBe(content.length);
          expect(got.range).toEqual({ start: range.start, end: range.start + expected.length - 1 });
          expect(got.contentType).toBe("text/plain");
          expect(got.metadata).toEqual({ kind: "range" });
        }
      });

      it("serves a range from the middle of a large object", { timeout }, async () => {
        await storage.put("range/large", patternStream(large, 3));
        const start = large - MiB - 12_345;
        const end = large - 100;
        const got = await storage.get("range/large", { range: { start, end } });
        const bytes = await readAll(got.body);
        const whole = Buffer.concat([...patternChunks(large, 3, MiB)]);
        expect(bytes.equals(whole.subarray(start, end + 1))).toBe(true);
        expect(got.size).toBe(end - start + 1);
      });

      it("throws invalid_range for a range starting at or past the end, even of an empty object", {
        timeout,
      }, async () => {
        await storage.put("range.txt", content);
        await expectStorageError(storage.get("range.txt", { range: { start: 20 } }), "invalid_range");
        await expectStorageError(
          storage.get("range.txt", { range: { start: 500, end: 600 } }),
          "invalid_range",
        );
        await storage.put("range/empty", "");
        await expectStorageError(storage.get("range/empty", { range: { start: 0 } }), "invalid_range");
      });

      it("rejects malformed ranges with invalid_argument and missing keys with not_found", {
        timeout,
      }, async () => {
        await storage.put("range.txt", content);
        const bad = [{ start: -1 }, { start: 5, end: 4 }, { start: 1.5 }, { start: 0, end: Number.NaN }, {}];
        for (const range of bad) {
          await expectStorageError(
            storage.get("range.txt", { range: range as { start: number } }),
            "invalid_argument",
            { field: "range" },
          );
        }
        await expectStorageError(storage.get("range/missing", { range: { start: 0 } }), "not_found");
      });
    });

    describe("limits and aborts", () => {
      it("rejects a body over maxBytes with too_large and stores nothing", { timeout }, async () => {
        const error = await expectStorageError(
          storage.put("limit/big", patternStream(2 * MiB, 4, 64 * 1024), { maxBytes: MiB }),
          "too_large",
          { limit: MiB },
        );
        expect(error.status).toBe(413);
        await expectStorageError(storage.put("limit/small", "12345", { maxBytes: 4 }), "too_large");
        expect(await storage.exists("limit/big")).toBe(false);
        expect(await storage.exists("limit/small")).toBe(false);
        expect((await storage.list("limit/")).items).toEqual([]);
      });

      it("accepts a body of exactly maxBytes", { timeout }, async () => {
        expect((await storage.put("limit/exact", "12345", { maxBytes: 5 })).size).toBe(5);
        expect((await storage.put("limit/zero", "", { maxBytes: 0 })).size).toBe(0);
      });

      it("leaves the previous object untouched when a replacement is too large", { timeout }, async () => {
        await storage.put("limit/keep", "original", { metadata: { v: "1" } });
        await expectStorageError(
          storage.put("limit/keep", patternStream(MiB, 5), { maxBytes: 1000 }),
          "too_large",
        );
        expect(await text(storage, "limit/keep")).toBe("original");
        expect((await storage.head("limit/keep")).metadata).toEqual({ v: "1" });
      });

      it("rejects with aborted and stores nothing when the signal is already aborted", {
        timeout,
      }, async () => {
        const controller = new AbortController();
        controller.abort(new Error("client went away"));
        await expectStorageError(
          storage.put("abort/early", "data", { signal: controller.signal }),
          "aborted",
        );
        expect(await storage.exists("abort/early")).toBe(false);
      });

      it("rejects with aborted and stores nothing when aborted mid-stream", { timeout }, async () => {
        const controller = new AbortController();
        // 24 chunks of 256 KiB (6 MiB); abort after 5 MiB has been read.
        const body = slowBody(24, (n) => {
          if (n === 20) controller.abort();
        });
        await expectStorageError(storage.put("abort/mid", body, { signal: controller.signal }), "aborted");
        expect(await storage.exists("abort/mid")).toBe(false);
        expect((await storage.list("abort/")).items).toEqual([]);
      });

      it("keeps the previous object when an overwrite is aborted mid-stream", { timeout }, async () => {
        await storage.put("abort/keep", "previous", { metadata: { v: "old" } });
        const controller = new AbortController();
        const body = slowBody(12, (n) => {
          if (n === 3) controller.abort();
        });
        await expectStorageError(storage.put("abort/keep", body, { signal: controller.signal }), "aborted");
        expect(await text(storage, "abort/keep")).toBe("previous");
        expect((await storage.head("abort/keep")).metadata).toEqual({ v: "old" });
      });

      it("aborts promptly while the body stream is stalled", { timeout }, async () => {
        const controller = new AbortController();
        const stalled = new ReadableStream<Uint8Array>({
          start(c) {
            c.enqueue(new Uint8Array(1024));
            // never closes, never sends more
          },
        });
        setTimeout(() => controller.abort(), 50);
        await expectStorageError(
          storage.put("abort/stalled", stalled, { signal: controller.signal }),
          "aborted",
        );
        expect(await storage.exists("abort/stalled")).toBe(false);
      });

      it("aborts promptly while a Node body stream is stalled, and leaves that stream alive", {
        timeout,
      }, async () => {
        const controller = new AbortController();
        const stalled = new Readable({ read() {} });
        stalled.push(Buffer.alloc(1024, 7)); // then nothing: never ends
        setTimeout(() => controller.abort(), 50);
        await expectStorageError(
          storage.put("abort/stalled-node", stalled, { signal: controller.signal }),
          "aborted",
        );
        expect(await storage.exists("abort/stalled-node")).toBe(false);
        expect(stalled.destroyed).toBe(false);
        stalled.destroy();
      });

      it("rejects with aborted, never hangs, when the body stream is destroyed before its end", {
        timeout,
      }, async () => {
        // A client that goes away: the request stream closes without an 'error' and without 'end'.
        const body = new Readable({ read() {} });
        body.push(Buffer.alloc(256 * 1024, 3));
        setTimeout(() => body.destroy(), 20);
        await expectStorageError(storage.put("abort/closed", body), "aborted");
        expect(await storage.exists("abort/closed")).toBe(false);
      });

      it("stops reading but never destroys the caller's stream when a put fails", { timeout }, async () => {
        const body = patternStream(2 * MiB, 8, 64 * 1024);
        await expectStorageError(storage.put("limit/caller", body, { maxBytes: 100 * 1024 }), "too_large");
        expect(body.destroyed).toBe(false);
        body.destroy();
      });

      it("rejects with aborted and stores nothing when the body stream errors", { timeout }, async () => {
        const failing = Readable.from(
          (async function* () {
            yield Buffer.alloc(300 * 1024, 1);
            throw new Error("socket hang up");
          })(),
          { objectMode: false },
        );
        const error = await expectStorageError(storage.put("abort/error", failing), "aborted");
        expect(String((error.cause as Error | undefined)?.message ?? error.message)).toContain(
          "socket hang up",
        );
        expect(await storage.exists("abort/error")).toBe(false);
      });

      it("rejects get with aborted for an aborted signal, and destroys the body when aborted mid-read", {
        timeout,
      }, async () => {
        await storage.put("abort/read", patternStream(large, 6));
        const early = new AbortController();
        early.abort();
        await expectStorageError(storage.get("abort/read", { signal: early.signal }), "aborted");

        const controller = new AbortController();
        const { body } = await storage.get("abort/read", { signal: controller.signal });
        const iterator = body[Symbol.asyncIterator]();
        expect((await iterator.next()).done).toBe(false);
        controller.abort();
        const error = await caught(
          (async () => {
            while (!(await iterator.next()).done) {
              // drain until the stream errors
            }
          })(),
        );
        expect(StorageError.isInstance(error) && error.code).toBe("aborted");
        expect(body.destroyed).toBe(true);
      });
    });

    describe("concurrency", () => {
      it("leaves one whole object, with its own metadata, after concurrent writers to one key", {
        timeout,
      }, async () => {
        const writers = 4;
        const size = 2 * MiB + 123;
        const digests = Array.from({ length: writers }, (_, i) => patternSha256(size, 100 + i));
        const results = await Promise.all(
          Array.from({ length: writers }, (_, i) =>
            storage.put("race/key", patternStream(size, 100 + i, 64 * 1024), {
              metadata: { writer: String(i) },
              contentType: `application/x-writer-${i}`,
            }),
          ),
        );
        expect(results.map((result) => result.sha256)).toEqual(digests);
        const got = await storage.get("race/key");
        const writer = Number(got.metadata.writer);
        expect(writer).toBeGreaterThanOrEqual(0);
        expect(writer).toBeLessThan(writers);
        expect(got.contentType).toBe(`application/x-writer-${writer}`);
        const bytes = await readAll(got.body);
        expect(bytes.byteLength).toBe(size);
        expect(sha256(bytes)).toBe(digests[writer]);
      });

      it("handles concurrent writes to different keys in one directory", { timeout }, async () => {
        const keys = Array.from({ length: 20 }, (_, i) => `dir/sub/file-${String(i).padStart(2, "0")}`);
        await Promise.all(keys.map((key) => storage.put(key, key)));
        await Promise.all(keys.slice(0, 10).map((key) => storage.delete(key)));
        expect(await listAll(storage, "dir/")).toEqual(keys.slice(10));
        for (const key of keys.slice(10)) expect(await text(storage, key)).toBe(key);
      });
    });

    describe("delete", () => {
      it("removes an object and is idempotent for missing keys", { timeout }, async () => {
        await storage.put("del/a", "a");
        await storage.put("del/b", "b");
        await storage.delete("del/a");
        expect(await storage.exists("del/a")).toBe(false);
        await expectStorageError(storage.get("del/a"), "not_found");
        await storage.delete("del/a");
        await storage.delete("never/existed/at/all");
        expect(await listAll(storage)).toEqual(["del/b"]);
        await storage.delete("del/b");
        expect(await listAll(storage)).toEqual([]);
        await storage.put("del/b", "again");
        expect(await text(storage, "del/b")).toBe("again");
      });
    });

    describe("copy and move", () => {
      it("copies bytes, content type and metadata; the source stays", { timeout }, async () => {
        await storage.put("src/doc.txt", "copy me", { contentType: "text/plain", metadata: { owner: "a" } });
        await storage.copy("src/doc.txt", "dst/doc.txt");
        expect(await text(storage, "dst/doc.txt")).toBe("copy me");
        expect(await storage.head("dst/doc.txt")).toMatchObject({
          size: 7,
          contentType: "text/plain",
          metadata: { owner: "a" },
        });
        expect(await text(storage, "src/doc.txt")).toBe("copy me");
      });

      it("copies a large object and over an existing key, replacing its metadata", { timeout }, async () => {
        await storage.put("src/large", patternStream(large, 7), { metadata: { big: "yes" } });
        await storage.put("dst/large", "old", { contentType: "text/plain", metadata: { old: "1" } });
        await storage.copy("src/large", "dst/large");
        const got = await storage.get("dst/large");
        expect(got.metadata).toEqual({ big: "yes" });
        expect(got.contentType).toBe("application/octet-stream");
        expect(sha256(await readAll(got.body))).toBe(patternSha256(large, 7));
      });

      it("copies onto itself without losing the object", { timeout }, async () => {
        await storage.put("self", "same", { metadata: { k: "v" } });
        await storage.copy("self", "self");
        expect(await text(storage, "self")).toBe("same");
        expect((await storage.head("self")).metadata).toEqual({ k: "v" });
      });

      it("moves an object: the target has it, the source is gone", { timeout }, async () => {
        await storage.put("from/here.txt", "moving", { contentType: "text/plain", metadata: { m: "1" } });
        await storage.put("to/there.txt", "replaced");
        await storage.move("from/here.txt", "to/there.txt");
        expect(await storage.exists("from/here.txt")).toBe(false);
        expect(await text(storage, "to/there.txt")).toBe("moving");
        expect(await storage.head("to/there.txt")).toMatchObject({
          contentType: "text/plain",
          metadata: { m: "1" },
        });
        expect(await listAll(storage)).toEqual(["to/there.txt"]);
      });

      it("moves onto itself without losing the object", { timeout }, async () => {
        await storage.put("stay", "put");
        await storage.move("stay", "stay");
        expect(await text(storage, "stay")).toBe("put");
      });

      it("throws not_found when the source is missing, leaving the target alone", { timeout }, async () => {
        await storage.put("target", "untouched");
        await expectStorageError(storage.copy("nothing", "target"), "not_found", { key: "nothing" });
        await expectStorageError(storage.move("nothing", "target"), "not_found", { key: "nothing" });
        await expectStorageError(storage.copy("nothing", "nothing"), "not_found");
        await expectStorageError(storage.move("nothing", "nothing"), "not_found");
        expect(await text(storage, "target")).toBe("untouched");
      });
    });

    describe("list", () => {
      it("lists every key in UTF-8 byte order with size, lastModified and etag", { timeout }, async () => {
        const keys = ["b", "a", "a/b", "a-b", "a.b", "a0", "é", "😀", "\uffee", "Z", "a/b/c"];
        for (const key of keys) await storage.put(key, `content of ${key}`);
        const { items, nextCursor } = await storage.list();
        expect(nextCursor).toBeUndefined();
        expect(items.map((item) => item.key)).toEqual([...keys].sort(byUtf8));
        for (const item of items) {
          expect(item.size).toBe(Buffer.byteLength(`content of ${item.key}`));
          expect(item.lastModified).toBeInstanceOf(Date);
          expect(Number.isNaN(item.lastModified.getTime())).toBe(false);
          if (item.etag !== undefined) expect(typeof item.etag).toBe("string");
        }
        expect(await storage.list("")).toEqual({ items });
      });

      it("filters by any prefix, including partial segments", { timeout }, async () => {
        const keys = [
          "reports/2024-01.pdf",
          "reports/2024-02.pdf",
          "reports/2023/x",
          "reports2",
          "other/reports",
        ];
        for (const key of keys) await storage.put(key, "x");
        expect(await listAll(storage, "reports/")).toEqual([
          "reports/2023/x",
          "reports/2024-01.pdf",
          "reports/2024-02.pdf",
        ]);
        expect(await listAll(storage, "reports/2024-")).toEqual([
          "reports/2024-01.pdf",
          "reports/2024-02.pdf",
        ]);
        expect(await listAll(storage, "reports")).toEqual([
          "reports/2023/x",
          "reports/2024-01.pdf",
          "reports/2024-02.pdf",
          "reports2",
        ]);
        expect(await listAll(storage, "reports/2023/x")).toEqual(["reports/2023/x"]);
        expect(await listAll(storage, "nothing/")).toEqual([]);
        expect(await storage.list("nothing/")).toEqual({ items: [] });
      });

      it("paginates in stable order; concatenated pages equal the full list", { timeout }, async () => {
        const keys = Array.from({ length: 7 }, (_, i) => `page/${String.fromCharCode(103 - i)}/${i}`);
        for (const key of keys) await storage.put(key, "x");
        await storage.put("outside", "x");
        const expected = [...keys].sort(byUtf8);
        for (const limit of [1, 2, 3, 6, 7, 1000]) {
          expect(await listAll(storage, "page/", limit), `limit ${limit}`).toEqual(expected);
        }
        const exact = await storage.list("page/", { limit: 7 });
        expect(exact.items).toHaveLength(7);
        expect(exact.nextCursor).toBeUndefined();
        const first = await storage.list("page/", { limit: 3 });
        expect(first.items.map((i) => i.key)).toEqual(expected.slice(0, 3));
        expect(typeof first.nextCursor).toBe("string");
      });

      it("keeps pages stable while keys are added and deleted between them", { timeout }, async () => {
        for (const key of ["s/b", "s/d", "s/f", "s/h"]) await storage.put(key, "x");
        const first = await storage.list("s/", { limit: 2 });
        expect(first.items.map((i) => i.key)).toEqual(["s/b", "s/d"]);
        await storage.put("s/a", "before the cursor");
        await storage.put("s/e", "after the cursor");
        await storage.delete("s/f");
        const rest = await storage.list("s/", { cursor: first.nextCursor as string });
        expect(rest.items.map((i) => i.key)).toEqual(["s/e", "s/h"]);
        expect(rest.nextCursor).toBeUndefined();
      });

      it("rejects bad cursors, limits and prefixes", { timeout }, async () => {
        for (const cursor of ["garbage", "k1.", "k1.!!!", "", "k1.%%%"]) {
          await expectStorageError(storage.list("", { cursor }), "invalid_argument", { field: "cursor" });
        }
        for (const limit of [0, -1, 1001, 2.5, Number.NaN]) {
          await expectStorageError(storage.list("", { limit }), "invalid_argument", { field: "limit" });
        }
        await expectStorageError(storage.list("../"), "invalid_key", { rule: "dot_segment" });
        await expectStorageError(storage.list("/abs"), "invalid_key", { rule: "leading_slash" });
        await expectStorageError(storage.list("a\u0000"), "invalid_key", { rule: "control_character" });
        await expectStorageError(storage.list("a//"), "invalid_key", { rule: "empty_segment" });
        await expectStorageError(storage.list(42 as unknown as string), "invalid_key", {
          rule: "not_a_string",
        });
      });
    });

    describe("keys", () => {
      it("stores, lists and returns tricky but valid keys byte for byte", { timeout }, async () => {
        const keys = [...trickyKeys, maxLengthKey(maxKeyBytes)];
        for (const key of keys) await storage.put(key, key);
        expect(await listAll(storage)).toEqual([...keys].sort(byUtf8));
        for (const key of keys) {
          expect(await text(storage, key), JSON.stringify(key)).toBe(key);
          expect((await storage.head(key)).key).toBe(key);
        }
        // NFC and NFD spellings of "é" are different keys: nothing is normalised.
        expect(await text(storage, "\u00e9")).toBe("\u00e9");
        expect(await text(storage, "e\u0301")).toBe("e\u0301");
      });

      it("keeps an object and a 'directory' of the same name side by side", { timeout }, async () => {
        await storage.put("node", "file");
        await storage.put("node/child", "child");
        await storage.put("node/child/grandchild", "grandchild");
        expect(await text(storage, "node")).toBe("file");
        expect(await text(storage, "node/child")).toBe("child");
        await storage.delete("node/child/grandchild");
        expect(await text(storage, "node/child")).toBe("child");
        await storage.delete("node");
        expect(await listAll(storage)).toEqual(["node/child"]);
      });

      it("rejects a key one byte over the limit", { timeout }, async () => {
        await expectStorageError(storage.put(`${maxLengthKey(maxKeyBytes)}x`, "x"), "invalid_key", {
          rule: "too_long",
        });
      });

      it("rejects non-string keys", { timeout }, async () => {
        for (const key of [undefined, null, 42, {}, ["a"]] as unknown as string[]) {
          await expectStorageError(storage.put(key, "x"), "invalid_key", { rule: "not_a_string" });
          await expectStorageError(storage.get(key), "invalid_key", { rule: "not_a_string" });
        }
      });

      it(`lists at least 30 hostile keys (${hostileKeys.length})`, () => {
        expect(hostileKeys.length).toBeGreaterThanOrEqual(30);
      });

      for (const { key, rule, description } of hostileKeys) {
        it(`rejects ${description} (${rule}) in every operation`, { timeout }, async () => {
          expect(() => validateKey(key)).toThrow();
          const ops: [string, () => Promise<unknown>][] = [
            ["put", () => storage.put(key, "x")],
            ["get", () => storage.get(key)],
            ["head", () => storage.head(key)],
            ["exists", () => storage.exists(key)],
            ["delete", () => storage.delete(key)],
            ["copy from", () => storage.copy(key, "ok")],
            ["copy to", () => storage.copy("ok", key)],
            ["move from", () => storage.move(key, "ok")],
            ["move to", () => storage.move("ok", key)],
          ];
          if (storage.signedUrl) {
            const signedUrl = storage.signedUrl.bind(storage);
            ops.push(["signedUrl", () => signedUrl(key, { method: "GET", expiresIn: 60 })]);
          }
          await storage.put("ok", "fine");
          for (const [op, run] of ops) {
            const error = await caught(run());
            expect(StorageError.isInstance(error), op).toBe(true);
            expect((error as StorageError).code, op).toBe("invalid_key");
            expect((error as StorageError).details?.rule, op).toBe(rule);
            expect((error as StorageError).message, op).toContain(rule);
          }
          expect(await listAll(storage)).toEqual(["ok"]);
        });
      }
    });

    describe("readiness and persistence", () => {
      it("passes its readiness check", { timeout }, async () => {
        await expect(storage.check()).resolves.toBeUndefined();
      });

      it("has a driver name", () => {
        expect(typeof storage.driver).toBe("string");
        expect(storage.driver.length).toBeGreaterThan(0);
      });

      it("keeps objects, content types and metadata across a restart (when the adapter persists)", {
        timeout,
      }, async () => {
        if (!fixture.reopen) {
          expect(fixture.reopen).toBeUndefined(); // an in-memory adapter: nothing to persist
          return;
        }
        await storage.put("persist/doc", "survives", { contentType: "text/plain", metadata: { keep: "me" } });
        const again = await fixture.reopen();
        reopened.push(again);
        expect(await text(again, "persist/doc")).toBe("survives");
        expect(await again.head("persist/doc")).toMatchObject({
          size: 8,
          contentType: "text/plain",
          metadata: { keep: "me" },
        });
        expect((await again.list("persist/")).items.map((i) => i.key)).toEqual(["persist/doc"]);
      });
    });

    describe("signed URLs (adapters that support them)", () => {
      it("signs GET and PUT URLs that work over plain HTTP, or has no signedUrl at all", {
        timeout,
      }, async () => {
        if (!storage.signedUrl) {
          expect(storage.signedUrl).toBeUndefined();
          return;
        }
        await storage.put("signed/get.txt", "signed content", { contentType: "text/plain" });
        const getUrl = await storage.signedUrl("signed/get.txt", { method: "GET", expiresIn: 300 });
        const response = await fetch(getUrl);
        expect(response.status).toBe(200);
        expect(await response.text()).toBe("signed content");

        const putUrl = await storage.signedUrl("signed/put.txt", {
          method: "PUT",
          expiresIn: 300,
          contentType: "text/plain",
        });
        const put = await fetch(putUrl, {
          method: "PUT",
          body: "uploaded",
          headers: { "content-type": "text/plain" },
        });
        expect(put.status).toBe(200);
        expect(await text(storage, "signed/put.txt")).toBe("uploaded");
        expect((await storage.head("signed/put.txt")).contentType).toBe("text/plain");
      });

      it("rejects bad signing options", { timeout }, async () => {
        if (!storage.signedUrl) {
          expect(storage.signedUrl).toBeUndefined();
          return;
        }
        for (const expiresIn of [0, -5, 1.5, 604_801]) {
          await expectStorageError(storage.signedUrl("a", { method: "GET", expiresIn }), "invalid_argument", {
            field: "expiresIn",
          });
        }
        await expectStorageError(
          storage.signedUrl("a", { method: "POST" as "GET", expiresIn: 60 }),
          "invalid_argument",
          { field: "method" },
        );
      });
    });
  });
}
