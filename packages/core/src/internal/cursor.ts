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

/** Cursor validator: an ISO timestamp string. */
export const isIsoTimestamp = (v: unknown): v is string =>
  typeof v === "string" && !Number.isNaN(Date.parse(v));
/** Cursor validator: a finite integer. */
export const isInteger = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v);
/** Cursor validator: a non-empty string. */
export const isNonEmptyString = (v: unknown): v is string =>
  typeof v === "string" && v.length > 0 && v.length < 2000;
