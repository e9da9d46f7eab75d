/**
 * The local-disk adapter.
 *
 * Atomicity: every write (put, copy) streams into a temp file on the same filesystem, is fsynced, and
 * is then `rename()`d over the object's path (and the directory fsynced). rename is atomic, so a reader
 * sees the old object or the new one, never half of one; a failed or aborted write leaves only a temp
 * file, which is removed at once (or, after a crash, at the next start). Concurrent writers to one key
 * each rename a whole file of their own: the last rename wins, whole.
 *
 * Metadata: content type, user metadata, SHA-256 and modification time live in a header at the start of
 * the object file itself (see `internal/local-object-file.ts`), not in a sidecar, so the one rename
 * replaces content and metadata together and both survive a restart.
 *
 * Symlinks: the adapter never follows one inside the root. Directories are checked with `realpath`
 * before reading and with `lstat` before writing; object files are opened with `O_NOFOLLOW`.
 */
import { createHash, randomUUID } from "node:crypto";
import { constants, type Dirent } from "node:fs";
import {
  type FileHandle,
  lstat,
  mkdir,
  open,
  readdir,
  realpath,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
} from "node:fs/promises";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { compareKeys } from "./compare-keys.js";
import { destroyOnAbort, throwIfAborted } from "./internal/abort.js";
import { bodyChunks } from "./internal/body-chunks.js";
import { resolveRange, validateRange } from "./internal/byte-range.js";
import { notFoundError, unavailableError } from "./internal/errors.js";
import { encodeCursor, normalizeListOptions } from "./internal/list-options.js";
import { encodeHeader, type ObjectHeader, PLACEHOLDER, readHeader } from "./internal/local-object-file.js";
import { keyPath, OBJECT_SUFFIX, unescapeName } from "./internal/local-paths.js";
import { normalizePutOptions, tooLargeError } from "./internal/put-options.js";
import type {
  GetOptions,
  GetResult,
  ListItem,
  ListOptions,
  ListResult,
  ObjectInfo,
  PutOptions,
  PutResult,
  StorageAdapter,
  StorageBody,
} from "./storage-adapter.js";
import { isStorageWriteFailure, StorageError } from "./storage-error.js";
import { keyProblem, validateKey } from "./validate-key.js";

/**
 * Options of `createLocalStorage()`.
 *
 * @example
 * ```ts
 * const options: LocalStorageOptions = { root: "/var/lib/cybernetic/files" };
 * ```
 */
export interface LocalStorageOptions {
  /** Directory that holds everything (created if missing): objects in `objects/`, temp files in `tmp/`. */
  root: string;
  /**
   * Where in-progress uploads are written; default `<root>/tmp`. Must be on the same filesystem as
   * `root` (checked at start with a test rename), or publishing a file could not be atomic.
   */
  tempDir?: string;
  /** Read and write chunk size in bytes; default 1 MiB (large chunks matter for throughput). */
  highWaterMark?: number;
  /** Temp files older than this many ms are removed at start (left by a crash); default 24 hours. */
  staleTempAfterMs?: number;
}

const DRIVER = "local";
const TEMP_PREFIX = "cybernetic-";
const TEMP_SUFFIX = ".part";
const LIST_READ_CONCURRENCY = 16;
const EARLY_FLUSH_BYTES = 32 * 1024 * 1024;

interface OpenObject {
  file: FileHandle;
  header: ObjectHeader;
  headerLength: number;
  size: number;
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function symlinkError(key: string): StorageError {
  return new StorageError(
    "invalid_key",
    `invalid storage key (symlink): the path of ${JSON.stringify(key)} crosses a symbolic link, which the local adapter never follows`,
    { details: { rule: "symlink", key } },
  );
}

function blockedError(key: string): StorageError {
  return new StorageError(
    "conflict",
    `the path of ${JSON.stringify(key)} is blocked by a file that is not a directory (not written by this adapter)`,
    { details: { key } },
  );
}

async function writeFully(file: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let offset = 0;
  while (offset < data.byteLength) {
    const { bytesWritten } = await file.write(data, offset, data.byteLength - offset, position + offset);
    offset += bytesWritten;
  }
}

async function fsyncDirectory(path: string): Promise<void> {
  const dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

/** Reads `[start, end)` of an open file in chunks, into fresh buffers. */
async function* readFileRange(file: FileHandle, start: number, end: number, chunkSize: number) {
  let position = start;
  while (position < end) {
    const length = Math.min(chunkSize, end - position);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await file.read(buffer, 0, length, position);
    if (bytesRead === 0) throw new Error("object file ended early");
    yield bytesRead === length ? buffer : buffer.subarray(0, bytesRead);
    position += bytesRead;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Creates the local-disk `StorageAdapter` (driver `"local"`). Creates `root` if needed, checks that
 * temp files can be renamed into it atomically, and removes temp files a crash left behind. Put the
 * root on a case-sensitive filesystem that does not normalise Unicode (ext4, xfs, btrfs, tmpfs): on
 * macOS' default APFS, keys differing only in case or normalisation would share one file. Each key
 * segment must fit a file name (255 bytes after escaping), or the key is rejected (`segment_too_long`).
 *
 * @example
 * ```ts
 * const storage = await createLocalStorage({ root: "./data/files" });
 * const { sha256 } = await storage.put("reports/q1.pdf", fs.createReadStream("q1.pdf"), {
 *   contentType: "application/pdf",
 * });
 * ```
 */
export async function createLocalStorage(options: LocalStorageOptions): Promise<StorageAdapter> {
  if (typeof options?.root !== "string" || options.root === "") {
    throw new StorageError("invalid_argument", "invalid root: expected a directory path", {
      details: { field: "root" },
    });
  }
  const chunkSize = options.highWaterMark ?? 1024 * 1024;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 16 * 1024 || chunkSize > 64 * 1024 * 1024) {
    throw new StorageError("invalid_argument", "invalid highWaterMark: expected 16 KiB to 64 MiB", {
      details: { field: "highWaterMark" },
    });
  }
  const staleAfter = options.staleTempAfterMs ?? 24 * 60 * 60 * 1000;

  let root: string;
  let objectsDir: string;
  let tempDir: string;
  try {
    await mkdir(resolve(options.root), { recursive: true, mode: 0o700 });
    root = await realpath(resolve(options.root));
    objectsDir = join(root, "objects");
    await mkdir(objectsDir, { recursive: true, mode: 0o700 });
    if ((await lstat(objectsDir)).isSymbolicLink()) throw new Error(`${objectsDir} is a symbolic link`);
    const wantedTemp = options.tempDir === undefined ? join(root, "tmp") : resolve(options.tempDir);
    await mkdir(wantedTemp, { recursive: true, mode: 0o700 });
    tempDir = await realpath(wantedTemp);
    // Prove that a temp file can be renamed into the objects tree (same filesystem, same mount).
    const probe = join(tempDir, `${TEMP_PREFIX}probe-${randomUUID()}${TEMP_SUFFIX}`);
    const probeTarget = join(objectsDir, `.probe-${randomUUID()}`);
    await (await open(probe, "wx", 0o600)).close();
    try {
      await rename(probe, probeTarget);
    } catch (error) {
      await rm(probe, { force: true });
      if (errnoOf(error) === "EXDEV") {
        throw new StorageError(
          "invalid_argument",
          "invalid tempDir: it must be on the same filesystem as root",
          {
            details: { field: "tempDir" },
            cause: error,
          },
        );
      }
      throw error;
    }
    await rm(probeTarget, { force: true });
  } catch (error) {
    throw unavailableError(error, DRIVER, "open its root");
  }
  await removeStaleTemps(tempDir, staleAfter);

  /** Checks that the directories of `key` exist and are real (no symlink); returns the object file path. */
  async function existingPath(key: string): Promise<string> {
    const { dirs, file } = keyPath(key);
    const dir = join(objectsDir, ...dirs);
    let real: string;
    try {
      real = await realpath(dir);
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === "ENOENT" || errno === "ENOTDIR") throw notFoundError(key);
      throw error;
    }
    if (real !== dir) throw symlinkError(key);
    return join(dir, file);
  }

  async function openObject(key: string): Promise<OpenObject> {
    const path = await existingPath(key);
    let file: FileHandle;
    try {
      file = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === "ENOENT" || errno === "EISDIR") throw notFoundError(key);
      if (errno === "ELOOP") throw symlinkError(key);
      throw error;
    }
    try {
      const { header, length } = await readHeader(file, path);
      const { size } = await file.stat();
      return { file, header, headerLength: length, size: size - length };
    } catch (error) {
      await file.close();
      throw error;
    }
  }

  /** Creates the directories of a key one level at a time, refusing symlinks; returns the deepest. */
  async function ensureDirs(key: string, dirs: readonly string[]): Promise<string> {
    let current = objectsDir;
    for (const name of dirs) {
      current = join(current, name);
      let entry: Awaited<ReturnType<typeof lstat>> | undefined;
      try {
        entry = await lstat(current);
      } catch (error) {
        if (errnoOf(error) !== "ENOENT") throw error;
      }
      if (entry === undefined) {
        try {
          await mkdir(current, { mode: 0o700 });
          continue;
        } catch (error) {
          if (errnoOf(error) !== "EEXIST") throw error;
          entry = await lstat(current);
        }
      }
      if (entry.isSymbolicLink()) throw symlinkError(key);
      if (!entry.isDirectory()) throw blockedError(key);
    }
    return current;
  }

  /** Renames `from` to the path of `key`, creating directories; retries when a delete prunes them meanwhile. */
  async function publish(from: string, key: string): Promise<string> {
    const { dirs, file } = keyPath(key);
    for (let attempt = 1; ; attempt++) {
      const dir = await ensureDirs(key, dirs);
      try {
        await rename(from, join(dir, file));
        await fsyncDirectory(dir);
        return dir;
      } catch (error) {
        if (errnoOf(error) !== "ENOENT" || attempt >= 5) throw error;
        // Either `from` vanished (the caller decides) or a concurrent delete removed the empty directory.
        try {
          await lstat(from);
        } catch {
          throw error;
        }
      }
    }
  }

  /** Removes the directories of `key` that became empty, deepest first. */
  async function prune(key: string): Promise<void> {
    const { dirs } = keyPath(key);
    for (let depth = dirs.length; depth > 0; depth--) {
      try {
        await rmdir(join(objectsDir, ...dirs.slice(0, depth)));
      } catch {
        return; // not empty, already gone, or not a directory: stop
      }
    }
  }

  /**
   * Streams `chunks` into a new temp file (content after a placeholder header, then the real header),
   * fsyncs it and renames it over `key`. On any failure the temp file is removed and nothing changes.
   */
  async function writeObject(
    key: string,
    meta: { contentType: string; metadata: Record<string, string> },
    chunks: AsyncIterable<Uint8Array>,
    maxBytes: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<PutResult> {
    const tempPath = join(tempDir, `${TEMP_PREFIX}${randomUUID()}${TEMP_SUFFIX}`);
    const file = await open(tempPath, "wx", 0o600);
    const placeholderLength = encodeHeader({ ...meta, ...PLACEHOLDER }).byteLength;
    let inflight: Promise<void> | undefined;
    let flushing: Promise<void> | undefined;
    let flushedAt = 0;
    let closed = false;
    try {
      const hash = createHash("sha256");
      let size = 0;
      let position = placeholderLength;
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      // One write in flight while the next chunk is hashed and read: disk and CPU overlap.
      const write = async (data: Uint8Array) => {
        if (inflight) await inflight;
        inflight = writeFully(file, data, position);
        position += data.byteLength;
        // Start flushing to disk while the upload goes on, so the final fdatasync has little left to do
        // (otherwise the kernel holds gigabytes dirty and the whole file is flushed at the end).
        if (!flushing && position - flushedAt >= EARLY_FLUSH_BYTES) {
          flushedAt = position;
          flushing = file.datasync().finally(() => {
            flushing = undefined;
          });
          flushing.catch(() => {}); // surfaced by the final datasync
        }
      };
      for await (const chunk of chunks) {
        size += chunk.byteLength;
        if (maxBytes !== undefined && size > maxBytes) throw tooLargeError(maxBytes);
        if (pendingBytes === 0 && chunk.byteLength >= chunkSize) {
          await write(chunk);
        } else {
          // Coalesce small chunks (e.g. 64 KiB from a socket) into large writes.
          pending.push(chunk);
          pendingBytes += chunk.byteLength;
          if (pendingBytes >= chunkSize) {
            await write(Buffer.concat(pending, pendingBytes));
            pending = [];
            pendingBytes = 0;
          }
        }
        hash.update(chunk);
      }
      if (pendingBytes > 0) await write(Buffer.concat(pending, pendingBytes));
      if (inflight) await inflight;
      const sha256 = hash.digest("hex");
      const lastModified = new Date().toISOString();
      const header = encodeHeader({ ...meta, sha256, lastModified });
      if (header.byteLength !== placeholderLength) throw new Error("object header changed length");
      await writeFully(file, header, 0);
      if (flushing) await flushing;
      await file.datasync();
      closed = true;
      await file.close();
      throwIfAborted(signal, "the upload");
      await publish(tempPath, key);
      return { key, size, sha256, etag: `"${sha256}"`, contentType: meta.contentType };
    } catch (error) {
      if (inflight) await inflight.catch(() => {});
      if (flushing) await flushing.catch(() => {});
      if (!closed) await file.close().catch(() => {});
      await rm(tempPath, { force: true }).catch(() => {});
      throw error;
    }
  }

  function toInfo(key: string, object: OpenObject): ObjectInfo {
    return {
      key,
      size: object.size,
      contentType: object.header.contentType,
      metadata: { ...object.header.metadata },
      etag: `"${object.header.sha256}"`,
      lastModified: new Date(object.header.lastModified),
    };
  }

  /** Yields `{ key, path }` of object files in key order, from `after` (exclusive), under `prefix`. */
  async function* walk(
    dir: string,
    keyPrefix: string,
    prefix: string,
    after: string | undefined,
  ): AsyncGenerator<{ key: string; path: string }> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      const errno = errnoOf(error);
      if (errno === "ENOENT" || errno === "ENOTDIR") return;
      throw error;
    }
    const children: { sortKey: string; name: string; isDir: boolean }[] = [];
    for (const entry of entries) {
      // Symlinks and anything else that is neither a plain directory nor an object file are skipped.
      if (entry.isDirectory()) {
        children.push({ sortKey: `${keyPrefix}${unescapeName(entry.name)}/`, name: entry.name, isDir: true });
      } else if (entry.isFile() && entry.name.endsWith(OBJECT_SUFFIX)) {
        const key = keyPrefix + unescapeName(entry.name.slice(0, -OBJECT_SUFFIX.length));
        children.push({ sortKey: key, name: entry.name, isDir: false });
      }
    }
    children.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const child of children) {
      const { sortKey } = child;
      if (child.isDir) {
        // Every key below starts with sortKey, so the subtree can be skipped when it cannot match the
        // prefix, or when it lies wholly before the cursor.
        if (!(sortKey.startsWith(prefix) || prefix.startsWith(sortKey))) continue;
        if (after !== undefined && compareKeys(sortKey, after) < 0 && !after.startsWith(sortKey)) continue;
        yield* walk(join(dir, child.name), sortKey, prefix, after);
      } else {
        if (!sortKey.startsWith(prefix)) continue;
        if (after !== undefined && compareKeys(sortKey, after) <= 0) continue;
        if (keyProblem(sortKey)) continue; // a foreign file, not one of ours
        yield { key: sortKey, path: join(dir, child.name) };
      }
    }
  }

  async function listItem(candidate: { key: string; path: string }): Promise<ListItem | undefined> {
    let file: FileHandle;
    try {
      file = await open(candidate.path, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (error) {
      if (errnoOf(error) === "ENOENT") return undefined; // deleted since readdir
      throw error;
    }
    try {
      const { header, length } = await readHeader(file, candidate.path);
      const { size } = await file.stat();
      return {
        key: candidate.key,
        size: size - length,
        lastModified: new Date(header.lastModified),
        etag: `"${header.sha256}"`,
      };
    } finally {
      await file.close();
    }
  }

  async function guard<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw unavailableError(error, DRIVER, operation);
    }
  }

  return {
    driver: DRIVER,

    async put(key: string, body: StorageBody, putOptions?: PutOptions): Promise<PutResult> {
      validateKey(key);
      keyPath(key);
      const { contentType, metadata, maxBytes, signal } = normalizePutOptions(putOptions);
      throwIfAborted(signal, "the upload");
      return guard("write an object", () =>
        writeObject(key, { contentType, metadata }, bodyChunks(body, signal), maxBytes, signal),
      );
    },

    async get(key: string, getOptions: GetOptions = {}): Promise<GetResult> {
      validateKey(key);
      const requested = validateRange(getOptions.range);
      const { signal } = getOptions;
      throwIfAborted(signal, "the download");
      return guard("read an object", async () => {
        const object = await openObject(key);
        let range: { start: number; end: number } | undefined;
        try {
          range = resolveRange(requested, object.size);
          throwIfAborted(signal, "the download");
        } catch (error) {
          await object.file.close();
          throw error;
        }
        const start = range?.start ?? 0;
        const size = range ? range.end - range.start + 1 : object.size;
        let body: Readable;
        if (size === 0) {
          await object.file.close();
          body = Readable.from([], { objectMode: false });
        } else {
          body = object.file.createReadStream({
            start: object.headerLength + start,
            end: object.headerLength + start + size - 1,
            highWaterMark: chunkSize,
            autoClose: true,
          });
        }
        destroyOnAbort(body, signal, "the download");
        const info = toInfo(key, object);
        return {
          body,
          size,
          totalSize: object.size,
          contentType: info.contentType,
          metadata: info.metadata,
          etag: info.etag,
          lastModified: info.lastModified,
          ...(range ? { range } : {}),
        };
      });
    },

    async head(key: string): Promise<ObjectInfo> {
      validateKey(key);
      return guard("read an object", async () => {
        const object = await openObject(key);
        await object.file.close();
        return toInfo(key, object);
      });
    },

    async exists(key: string): Promise<boolean> {
      validateKey(key);
      return guard("read an object", async () => {
        let path: string;
        try {
          path = await existingPath(key);
        } catch (error) {
          if (StorageError.isInstance(error) && error.code === "not_found") return false;
          throw error;
        }
        try {
          const entry = await lstat(path);
          if (entry.isSymbolicLink()) throw symlinkError(key);
          return entry.isFile();
        } catch (error) {
          if (errnoOf(error) === "ENOENT") return false;
          throw error;
        }
      });
    },

    async delete(key: string): Promise<void> {
      validateKey(key);
      await guard("delete an object", async () => {
        let path: string;
        try {
          path = await existingPath(key);
        } catch (error) {
          if (StorageError.isInstance(error) && error.code === "not_found") return;
          throw error;
        }
        try {
          await unlink(path);
        } catch (error) {
          if (errnoOf(error) === "ENOENT") return;
          throw error;
        }
        await fsyncDirectory(join(path, ".."));
        await prune(key);
      });
    },

    async copy(from: string, to: string): Promise<void> {
      validateKey(from);
      validateKey(to);
      keyPath(to);
      await guard("copy an object", async () => {
        // Reading through the open handle copies one consistent version even if `from` is replaced meanwhile.
        const source = await openObject(from);
        try {
          const { header, headerLength, size } = source;
          const chunks = readFileRange(source.file, headerLength, headerLength + size, chunkSize);
          await writeObject(to, header, chunks, undefined, undefined);
        } finally {
          await source.file.close();
        }
      });
    },

    async move(from: string, to: string): Promise<void> {
      validateKey(from);
      validateKey(to);
      keyPath(to);
      await guard("move an object", async () => {
        const source = await existingPath(from);
        let entry: Awaited<ReturnType<typeof lstat>>;
        try {
          entry = await lstat(source);
        } catch (error) {
          if (errnoOf(error) === "ENOENT") throw notFoundError(from);
          throw error;
        }
        if (entry.isSymbolicLink()) throw symlinkError(from);
        if (!entry.isFile()) throw notFoundError(from);
        if (from === to) return;
        try {
          await publish(source, to);
        } catch (error) {
          if (errnoOf(error) === "ENOENT") throw notFoundError(from);
          throw error;
        }
        await fsyncDirectory(join(source, ".."));
        await prune(from);
      });
    },

    async list(prefix = "", listOptions?: ListOptions): Promise<ListResult> {
      const { prefix: validPrefix, after, limit } = normalizeListOptions(prefix, listOptions);
      return guard("list objects", async () => {
        const candidates: { key: string; path: string }[] = [];
        for await (const candidate of walk(objectsDir, "", validPrefix, after)) {
          candidates.push(candidate);
          if (candidates.length > limit) break;
        }
        const more = candidates.length > limit;
        const found = await mapLimited(candidates.slice(0, limit), LIST_READ_CONCURRENCY, listItem);
        const items = found.filter((item): item is ListItem => item !== undefined);
        const last = candidates[limit - 1];
        return more && last ? { items, nextCursor: encodeCursor(last.key) } : { items };
      });
    },

    async check(): Promise<void> {
      // Reads first: a store whose objects cannot be reached is unavailable.
      await guard("pass its readiness check", async () => {
        if (!(await stat(objectsDir)).isDirectory()) throw new Error(`${objectsDir} is not a directory`);
      });
      // Then a write: one that fails for want of space (or a read-only mount) leaves reads working, so it is
      // reported as `writable: false` (a degraded store, see isStorageWriteFailure).
      try {
        const probe = join(tempDir, `${TEMP_PREFIX}check-${randomUUID()}${TEMP_SUFFIX}`);
        const file = await open(probe, "wx", 0o600);
        try {
          await writeFully(file, Buffer.from("ok"), 0);
          await file.sync();
        } finally {
          await file.close();
          await rm(probe, { force: true });
        }
      } catch (error) {
        const wrapped = unavailableError(error, DRIVER, "write its readiness probe");
        if (isStorageWriteFailure(wrapped)) {
          throw new StorageError("storage_unavailable", wrapped.message, {
            cause: error,
            details: { ...wrapped.details, writable: false },
          });
        }
        throw wrapped;
      }
    },
  };
}

/** Removes temp files older than `staleAfter` ms: uploads a crashed process never finished. */
async function removeStaleTemps(tempDir: string, staleAfter: number): Promise<void> {
  const cutoff = Date.now() - staleAfter;
  let names: string[];
  try {
    names = await readdir(tempDir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(TEMP_PREFIX) || !name.endsWith(TEMP_SUFFIX)) continue;
    const path = join(tempDir, name);
    try {
      const entry = await lstat(path);
      if (entry.isFile() && entry.mtimeMs < cutoff) await rm(path, { force: true });
    } catch {
      // Raced with its owner finishing; fine.
    }
  }
}
