/**
 * The local adapter's object file format. Content and metadata live in ONE file, so the single
 * `rename()` that publishes a new version replaces both at once: a reader can never pair new bytes with
 * old metadata (two files, content + sidecar, would need two renames and leave a window between them).
 * A reader that opened the file keeps its version even if it is replaced meanwhile (the old inode lives
 * until closed).
 *
 *   bytes 0–7    magic "CYBOBJ1\n"
 *   bytes 8–11   header length N, uint32 big-endian
 *   bytes 12…    N bytes of JSON: { v, contentType, metadata, sha256, lastModified }
 *   then         the object's bytes
 *
 * The header is written last, in place, over a placeholder of the same length: its sha256 and date are
 * known only at the end, and both have a fixed width.
 */
import type { FileHandle } from "node:fs/promises";
import { StorageError } from "../storage-error.js";

const MAGIC = Buffer.from("CYBOBJ1\n", "latin1");
const PREFIX_BYTES = 12;
const FIRST_READ = 16 * 1024;
const MAX_HEADER_BYTES = 1024 * 1024;

/** The JSON header of an object file. */
export interface ObjectHeader {
  contentType: string;
  metadata: Record<string, string>;
  /** Lowercase hex SHA-256 of the content. */
  sha256: string;
  /** ISO 8601, always 24 characters. */
  lastModified: string;
}

/** A placeholder sha256 and date with the same width as real ones. */
export const PLACEHOLDER = { sha256: "0".repeat(64), lastModified: new Date(0).toISOString() } as const;

/** Serialises a header (magic, length, JSON). */
export function encodeHeader(header: ObjectHeader): Buffer {
  const json = Buffer.from(
    JSON.stringify({
      v: 1,
      contentType: header.contentType,
      metadata: header.metadata,
      sha256: header.sha256,
      lastModified: header.lastModified,
    }),
    "utf8",
  );
  const out = Buffer.allocUnsafe(PREFIX_BYTES + json.byteLength);
  MAGIC.copy(out, 0);
  out.writeUInt32BE(json.byteLength, 8);
  json.copy(out, PREFIX_BYTES);
  return out;
}

function corrupt(path: string, why: string): StorageError {
  return new StorageError(
    "storage_unavailable",
    `local storage: ${path} is not a valid object file (${why})`,
    {
      details: { driver: "local", reason: "corrupt_object", path },
    },
  );
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === "string")
  );
}

/** Reads and checks the header of an open object file; returns it with its length in bytes. */
export async function readHeader(
  file: FileHandle,
  path: string,
): Promise<{ header: ObjectHeader; length: number }> {
  let buffer = Buffer.allocUnsafe(FIRST_READ);
  let { bytesRead } = await file.read(buffer, 0, FIRST_READ, 0);
  if (bytesRead < PREFIX_BYTES || !buffer.subarray(0, MAGIC.byteLength).equals(MAGIC)) {
    throw corrupt(path, "bad magic");
  }
  const jsonBytes = buffer.readUInt32BE(8);
  const length = PREFIX_BYTES + jsonBytes;
  if (jsonBytes > MAX_HEADER_BYTES) throw corrupt(path, "header too long");
  if (length > bytesRead) {
    buffer = Buffer.allocUnsafe(length);
    ({ bytesRead } = await file.read(buffer, 0, length, 0));
    if (bytesRead < length) throw corrupt(path, "truncated header");
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(buffer.toString("utf8", PREFIX_BYTES, length));
  } catch {
    throw corrupt(path, "header is not JSON");
  }
  const h = parsed as Partial<ObjectHeader> & { v?: unknown };
  if (
    h.v !== 1 ||
    typeof h.contentType !== "string" ||
    !isStringRecord(h.metadata) ||
    typeof h.sha256 !== "string" ||
    typeof h.lastModified !== "string"
  ) {
    throw corrupt(path, "unexpected header fields");
  }
  return {
    header: {
      contentType: h.contentType,
      metadata: h.metadata,
      sha256: h.sha256,
      lastModified: h.lastModified,
    },
    length,
  };
}
