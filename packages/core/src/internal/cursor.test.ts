import { describe, expect, it } from "vitest";
import { CyberneticError } from "../errors.js";
import {
  decodeCursor,
  encodeCursor,
  isInteger,
  isIsoTimestamp,
  isNonEmptyString,
  isUuidString,
} from "./cursor.js";

const UUID = "5f0c8a9e-2b1d-4c3e-9f00-0a1b2c3d4e5f";
const TS = "2024-05-01T12:00:00.123456Z";

/** Decodes and returns the error, failing the test when decoding succeeds. */
function rejection(cursor: string, validators: ((v: unknown) => boolean)[]): CyberneticError {
  try {
    decodeCursor(cursor, validators as never);
  } catch (error) {
    expect(CyberneticError.isInstance(error)).toBe(true);
    return error as CyberneticError;
  }
  throw new Error(`expected ${cursor} to be rejected`);
}

describe("encodeCursor / decodeCursor", () => {
  it.each<[string, (string | number)[], ((v: unknown) => boolean)[]]>([
    ["a slug", ["acme-ops"], [isNonEmptyString]],
    ["a version", [42], [isInteger]],
    ["a timestamp and an id", [TS, UUID], [isIsoTimestamp, isUuidString]],
    ["priority, timestamp, id", [1000, TS, UUID], [isInteger, isIsoTimestamp, isUuidString]],
    ["unicode", ["Zürich – 東京"], [isNonEmptyString]],
  ])("round-trips %s", (_, values, validators) => {
    const cursor = encodeCursor(values);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/); // URL-safe, no padding
    expect(decodeCursor(cursor, validators as never)).toEqual(values);
  });

  it("is opaque: the cursor does not show its values in plain text", () => {
    expect(encodeCursor(["acme-ops"])).not.toContain("acme");
  });

  const tampered = (cursor: string) => {
    const i = Math.floor(cursor.length / 2);
    return `${cursor.slice(0, i)}${cursor[i] === "A" ? "B" : "A"}${cursor.slice(i + 1)}`;
  };

  it.each<[string, string, ((v: unknown) => boolean)[]]>([
    ["garbage", "%%%not-base64%%%", [isNonEmptyString]],
    ["the empty string", "", [isNonEmptyString]],
    ["base64 of text that is not JSON", Buffer.from("hello").toString("base64url"), [isNonEmptyString]],
    ["a JSON object", Buffer.from('{"a":1}').toString("base64url"), [isNonEmptyString]],
    ["a JSON string", Buffer.from('"a"').toString("base64url"), [isNonEmptyString]],
    ["too few values", encodeCursor([TS]), [isIsoTimestamp, isUuidString]],
    ["too many values", encodeCursor([TS, UUID, 1]), [isIsoTimestamp, isUuidString]],
    ["a value of the wrong type", encodeCursor(["42"]), [isInteger]],
    ["values in the wrong order", encodeCursor([UUID, TS]), [isIsoTimestamp, isUuidString]],
    ["a flipped character", tampered(encodeCursor([TS, UUID])), [isIsoTimestamp, isUuidString]],
    ["a truncated cursor", encodeCursor([TS, UUID]).slice(0, -6), [isIsoTimestamp, isUuidString]],
  ])("rejects %s as invalid_cursor", (_, cursor, validators) => {
    const error = rejection(cursor, validators);
    expect(error.code).toBe("invalid_cursor");
    expect(error.status).toBe(400);
    expect(error.details).toEqual({ issues: [{ path: "cursor", message: "malformed cursor" }] });
    expect(error.message).toContain("cursor");
  });
});

describe("cursor validators", () => {
  it.each<[unknown, boolean]>([
    [TS, true],
    ["2024-05-01T12:00:00Z", true],
    ["2024-05-01T12:00:00.1Z", true],
    ["2024-02-29T00:00:00Z", true],
    ["2024-02-30T00:00:00Z", false],
    ["2023-02-29T00:00:00Z", false],
    ["2024-05-01T24:00:00Z", false],
    ["2024-13-01T00:00:00Z", false],
    ["0000-01-01T00:00:00Z", false],
    ["2024-05-01T12:00:00.1234567Z", false],
    ["2024-05-01T12:00:00+02:00", false],
    ["2024-05-01 12:00:00Z", false],
    ["2024-05-01", false],
    ["1", false],
    ["May 1, 2024", false],
    ["", false],
    [1714564800000, false],
    [null, false],
  ])("isIsoTimestamp(%j) is %s", (value, expected) => {
    expect(isIsoTimestamp(value)).toBe(expected);
  });

  it.each<[unknown, boolean]>([
    [0, true],
    [-5, true],
    [2_147_483_647, true],
    [-2_147_483_648, true],
    [2_147_483_648, false],
    [-2_147_483_649, false],
    [2 ** 53, false],
    [1.5, false],
    [Number.NaN, false],
    [Number.POSITIVE_INFINITY, false],
    ["1", false],
    [null, false],
  ])("isInteger(%j) is %s", (value, expected) => {
    expect(isInteger(value)).toBe(expected);
  });

  it.each<[unknown, boolean]>([
    [UUID, true],
    [UUID.toUpperCase(), true],
    [UUID.slice(1), false],
    [`${UUID}0`, false],
    [UUID.replace(/-/g, ""), false],
    ["not-a-uuid", false],
    ["", false],
    [42, false],
  ])("isUuidString(%j) is %s", (value, expected) => {
    expect(isUuidString(value)).toBe(expected);
  });

  it.each<[unknown, boolean]>([
    ["a", true],
    ["x".repeat(1999), true],
    ["x".repeat(2000), false],
    ["", false],
    [1, false],
    [null, false],
  ])("isNonEmptyString(%j) is %s", (value, expected) => {
    expect(isNonEmptyString(value)).toBe(expected);
  });
});
