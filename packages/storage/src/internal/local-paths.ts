/**
 * How the local adapter maps keys to paths under `<root>/objects`. Each key segment but the last is a
 * directory; the last is a file named `<segment>%`. Inside a name, `%` and the characters some
 * filesystems reserve (`<>:"|?*`) are written as `%XX`, so a name ends in a lone `%` only when it is an
 * object file. That is what lets `a` (file `a%`) and `a/b` (directory `a`, file `b%`) coexist, as on S3,
 * and what lets `list()` tell objects from directories without opening them.
 *
 * Keys are otherwise stored byte for byte. The root should be on a case-sensitive filesystem that does
 * not normalise Unicode (Linux: ext4, xfs, btrfs, tmpfs); on macOS' default APFS, `A` and `a` collide.
 */
import { StorageError } from "../storage-error.js";

/** Suffix of object files. */
export const OBJECT_SUFFIX = "%";
/** Longest file name most filesystems accept, in bytes. */
export const MAX_NAME_BYTES = 255;

const RESERVED = /[%<>:"|?*]/g;
const ESCAPE = /%([0-9A-F]{2})/g;

/** Escapes one key segment for use as a file or directory name. */
export function escapeSegment(segment: string): string {
  return segment.replace(RESERVED, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

/** Reverses `escapeSegment`. */
export function unescapeName(name: string): string {
  return name.replace(ESCAPE, (_, code: string) => String.fromCharCode(Number.parseInt(code, 16)));
}

/** Where a key lives: its directory names (escaped) and its file name. */
export interface KeyPath {
  dirs: string[];
  file: string;
}

/** Maps a (validated) key to its path; throws `invalid_key` (`segment_too_long`) past the name limit. */
export function keyPath(key: string): KeyPath {
  const segments = key.split("/");
  const names = segments.map((segment, i) =>
    i === segments.length - 1 ? escapeSegment(segment) + OBJECT_SUFFIX : escapeSegment(segment),
  );
  for (let i = 0; i < names.length; i++) {
    const bytes = Buffer.byteLength(names[i] as string, "utf8");
    if (bytes > MAX_NAME_BYTES) {
      throw new StorageError(
        "invalid_key",
        `invalid storage key (segment_too_long): segment ${i + 1} takes ${bytes} bytes on disk; the local adapter allows ${MAX_NAME_BYTES}`,
        { details: { rule: "segment_too_long", segment: i + 1, limit: MAX_NAME_BYTES } },
      );
    }
  }
  return { dirs: names.slice(0, -1), file: names.at(-1) as string };
}
