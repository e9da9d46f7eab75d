import { CyberneticError } from "../errors.js";

/**
 * Opaque keyset cursors: base64url of a small JSON array. Clients treat them as strings; a malformed or
 * tampered cursor is a 400 `invalid_cursor`, never a SQL error.
 */
export function encodeCursor(values: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(values), "utf8").toString("base64url");
}

/** Decodes a cursor made by `encodeCursor`, checking each position with the given validators. */
export function decodeCursor<T extends readonly unknown[]>(
  cursor: string,
  validators: { [K in keyof T]: (v: unknown) => v is T[K] },
): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== validators.length ||
    !parsed.every((v, i) => (validators[i] as (v: unknown) => boolean)(v))
  ) {
    throw new CyberneticError("invalid_cursor", "cursor is not one this API returned", {
      details: { issues: [{ path: "cursor", message: "malformed cursor" }] },
    });
  }
  return parsed as unknown as T;
}

const UTC_TIMESTAMP = /^(\d{4})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Cursor validator: a UTC timestamp as the cursors write it (`2024-05-01T12:00:00.123456Z`). Strict, because
 * the value reaches SQL as a timestamptz: `Date.parse` alone accepts "1" or "2024-02-30", which PostgreSQL
 * rejects, and a tampered cursor must be `invalid_cursor`, not a database error.
 */
export const isIsoTimestamp = (v: unknown): v is string => {
  if (typeof v !== "string") return false;
  const match = UTC_TIMESTAMP.exec(v);
  if (!match || match[1] === "0000") return false;
  const time = Date.parse(v);
  // A date that does not exist (Feb 30, hour 24) rolls over in Date and no longer prints the same.
  return !Number.isNaN(time) && new Date(time).toISOString().slice(0, 19) === v.slice(0, 19);
};
/** Cursor validator: an integer in PostgreSQL's `integer` range (the columns cursors key on are int4). */
export const isInteger = (v: unknown): v is number =>
  typeof v === "number" && Number.isInteger(v) && v >= -2_147_483_648 && v <= 2_147_483_647;
/** Cursor validator: a UUID (it reaches SQL as `::uuid`). */
export const isUuidString = (v: unknown): v is string => typeof v === "string" && UUID.test(v);
/** Cursor validator: a non-empty string. */
export const isNonEmptyString = (v: unknown): v is string =>
  typeof v === "string" && v.length > 0 && v.length < 2000;
