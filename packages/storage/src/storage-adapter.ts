/**
 * The `StorageAdapter` interface every driver implements (local disk, S3, memory, or a third party's),
 * and the types of its arguments and results. The contract is checked by `describeStorageAdapter()` in
 * `@cybernetic/storage/testing`.
 */
import type { Readable } from "node:stream";

/**
 * What `put()` accepts as an object's content: bytes, a string (stored as UTF-8), a web
 * `ReadableStream` of bytes, or a Node readable stream. Streams are read once, in order, never
 * buffered whole; `put()` never destroys or cancels a stream you pass, it only stops reading it.
 *
 * @example
 * ```ts
 * await storage.put("a.txt", "hello");
 * await storage.put("b.bin", new Uint8Array([1, 2, 3]));
 * await storage.put("c.bin", fs.createReadStream("/tmp/c.bin"));
 * await storage.put("d.bin", (await fetch(url)).body!);
 * ```
 */
export type StorageBody = Uint8Array | string | ReadableStream<Uint8Array> | NodeJS.ReadableStream;

/**
 * Options of `put()`.
 *
 * @example
 * ```ts
 * await storage.put("r.pdf", body, { contentType: "application/pdf", metadata: { author: "ops" }, maxBytes: 10 << 20 });
 * ```
 */
export interface PutOptions {
  /** Printable ASCII media type, at most 255 characters; default `application/octet-stream`. */
  contentType?: string;
  /**
   * User metadata, returned by `get()` and `head()`. Names: lowercase `[a-z0-9._-]`, starting with a
   * letter or digit, at most 128 characters. Values: printable ASCII without leading or trailing spaces.
   * At most 2 KiB in total (the S3 limit). Nothing is normalised: a value that breaks a rule is rejected.
   */
  metadata?: Record<string, string>;
  /** Aborting it before the body has been read to its end rejects with `aborted` and stores nothing. */
  signal?: AbortSignal;
  /** Reject with `too_large` (storing nothing) once the body exceeds this many bytes. */
  maxBytes?: number;
}

/**
 * What `put()` resolves with once the object is stored whole.
 *
 * @example
 * ```ts
 * const { size, sha256 } = await storage.put("a.txt", "hello"); // 5, "2cf24dba…"
 * ```
 */
export interface PutResult {
  key: string;
  /** Bytes stored. */
  size: number;
  /** SHA-256 of the stored bytes, lowercase hex, computed while streaming. */
  sha256: string;
  /** The store's entity tag for this version (quoted, as in HTTP), when it has one. */
  etag?: string;
  contentType: string;
}

/**
 * A byte range, both ends inclusive (as in HTTP `Range: bytes=start-end`). `end` past the last byte is
 * clamped to it; omitted, the range runs to the end.
 *
 * @example
 * ```ts
 * const firstKiB: ByteRange = { start: 0, end: 1023 };
 * ```
 */
export interface ByteRange {
  start: number;
  end?: number;
}

/**
 * Options of `get()`.
 *
 * @example
 * ```ts
 * await storage.get("video.mp4", { range: { start: 1_000_000 }, signal: req.signal });
 * ```
 */
export interface GetOptions {
  range?: ByteRange;
  /** Aborting it rejects a pending `get()` with `aborted` and destroys the body stream with that error. */
  signal?: AbortSignal;
}

/**
 * What `head()` returns: everything about an object but its bytes.
 *
 * @example
 * ```ts
 * const info: ObjectInfo = await storage.head("a.txt");
 * ```
 */
export interface ObjectInfo {
  key: string;
  /** Size of the whole object in bytes. */
  size: number;
  contentType: string;
  metadata: Record<string, string>;
  /** Quoted entity tag of this version. */
  etag: string;
  lastModified: Date;
}

/**
 * What `get()` returns. `body` is a Node stream of the requested bytes; read it to the end or destroy
 * it, or the underlying file handle or connection stays open.
 *
 * @example
 * ```ts
 * const { body, size } = await storage.get("a.txt");
 * await pipeline(body, res);
 * ```
 */
export interface GetResult {
  body: Readable;
  /** Bytes in `body` (the range's length when a range was asked for). */
  size: number;
  /** Size of the whole object. */
  totalSize: number;
  contentType: string;
  metadata: Record<string, string>;
  etag: string;
  lastModified: Date;
  /** The range served, both ends inclusive, when one was asked for. */
  range?: { start: number; end: number };
}

/**
 * Options of `list()`.
 *
 * @example
 * ```ts
 * const page2 = await storage.list("reports/", { cursor: page1.nextCursor, limit: 100 });
 * ```
 */
export interface ListOptions {
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Items per page, 1–1000; default 1000. */
  limit?: number;
}

/**
 * One object in a `list()` page.
 *
 * @example
 * ```ts
 * const item: ListItem = { key: "a.txt", size: 5, lastModified: new Date() };
 * ```
 */
export interface ListItem {
  key: string;
  size: number;
  lastModified: Date;
  etag?: string;
}

/**
 * One page of `list()`. Keys come in UTF-8 byte order (`compareKeys`); `nextCursor` is present when
 * more keys may follow. A page may hold fewer than `limit` items (objects deleted meanwhile).
 *
 * @example
 * ```ts
 * const { items, nextCursor } = await storage.list("reports/");
 * ```
 */
export interface ListResult {
  items: ListItem[];
  nextCursor?: string;
}

/**
 * Options of `signedUrl()`.
 *
 * @example
 * ```ts
 * await storage.signedUrl?.("a.pdf", { method: "GET", expiresIn: 300 });
 * ```
 */
export interface SignedUrlOptions {
  /** Seconds the URL stays valid, 1–604800 (7 days). */
  expiresIn: number;
  method: "GET" | "PUT";
  /** For `PUT`: the `Content-Type` the uploader must send. */
  contentType?: string;
}

/**
 * A place to keep objects (files) under string keys. Implementations: `createLocalStorage`,
 * `createS3Storage`, `createMemoryStorage`; `createStorage` builds one from config.
 *
 * Guarantees every adapter keeps (and `describeStorageAdapter` checks):
 * - Keys pass `validateKey()`; a bad key throws `invalid_key` before any I/O.
 * - `put()` either resolves with the whole object stored, or rejects and leaves the key as it was
 *   (no partial object, no orphaned upload parts). Concurrent `put()`s to one key leave one whole
 *   object with its own metadata, never a mix.
 * - A missing key throws `StorageError` with code `not_found` (except `delete`, which is idempotent).
 * - Every failure is a `StorageError`.
 *
 * @example
 * ```ts
 * const storage = createMemoryStorage();
 * await storage.put("hello.txt", "hi", { contentType: "text/plain" });
 * const { body } = await storage.get("hello.txt");
 * ```
 */
export interface StorageAdapter {
  /** The driver's name, e.g. `"local"`; stored with artifacts as their backend. */
  readonly driver: string;

  /**
   * Stores `body` under `key`, replacing any object there. Streams; computes SHA-256 on the way.
   *
   * @example
   * ```ts
   * const { sha256 } = await storage.put("in/upload.bin", req, { maxBytes: 50 << 20, signal });
   * ```
   */
  put(key: string, body: StorageBody, options?: PutOptions): Promise<PutResult>;

  /**
   * Opens an object (or a byte range of it) for reading. Throws `not_found`, or `invalid_range` when
   * `range.start` is at or past the end.
   *
   * @example
   * ```ts
   * const { body, contentType } = await storage.get("in/upload.bin");
   * ```
   */
  get(key: string, options?: GetOptions): Promise<GetResult>;

  /**
   * Reads an object's size, content type, metadata, etag and modification time. Throws `not_found`.
   *
   * @example
   * ```ts
   * const { size } = await storage.head("in/upload.bin");
   * ```
   */
  head(key: string): Promise<ObjectInfo>;

  /**
   * True when an object is stored under `key`.
   *
   * @example
   * ```ts
   * if (await storage.exists("a.txt")) …
   * ```
   */
  exists(key: string): Promise<boolean>;

  /**
   * Removes an object. Idempotent: deleting a key that holds nothing resolves as well, because retried
   * requests and jobs delete twice.
   *
   * @example
   * ```ts
   * await storage.delete("a.txt");
   * ```
   */
  delete(key: string): Promise<void>;

  /**
   * Copies an object (bytes, content type and metadata) to another key, replacing what is there.
   * Throws `not_found` when `from` holds nothing.
   *
   * @example
   * ```ts
   * await storage.copy("drafts/a.pdf", "published/a.pdf");
   * ```
   */
  copy(from: string, to: string): Promise<void>;

  /**
   * Moves an object to another key. Atomic on the local and memory adapters; on S3 it is a copy and a
   * delete, so a reader may briefly see both keys. Throws `not_found` when `from` holds nothing.
   *
   * @example
   * ```ts
   * await storage.move("incoming/a.pdf", "archive/a.pdf");
   * ```
   */
  move(from: string, to: string): Promise<void>;

  /**
   * Lists objects whose keys start with `prefix` (any string, not only whole segments), in stable
   * UTF-8 byte order, one page at a time.
   *
   * @example
   * ```ts
   * let cursor: string | undefined;
   * do {
   *   const page = await storage.list("reports/", { cursor });
   *   for (const item of page.items) console.log(item.key);
   *   cursor = page.nextCursor;
   * } while (cursor);
   * ```
   */
  list(prefix?: string, options?: ListOptions): Promise<ListResult>;

  /**
   * A pre-signed URL that lets a client GET or PUT one object directly, bypassing this process. Only
   * adapters with a network endpoint have it (S3). A signed PUT skips `maxBytes` and SHA-256.
   *
   * @example
   * ```ts
   * const url = await storage.signedUrl?.("a.pdf", { method: "GET", expiresIn: 60 });
   * ```
   */
  signedUrl?(key: string, options: SignedUrlOptions): Promise<string>;

  /**
   * Readiness: resolves when the store is reachable and writable, throws `storage_unavailable` when not.
   * A store that can be read but not written (a full disk, a read-only mount) throws with
   * `details.writable: false`, so a caller can report it degraded rather than down
   * (`isStorageWriteFailure`).
   *
   * @example
   * ```ts
   * await storage.check(); // in GET /ready
   * ```
   */
  check(): Promise<void>;

  /**
   * Releases what the adapter holds (e.g. the S3 client it created). Optional; call it at shutdown.
   *
   * @example
   * ```ts
   * await storage.close?.();
   * ```
   */
  close?(): Promise<void>;
}
