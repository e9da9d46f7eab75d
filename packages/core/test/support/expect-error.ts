/**
 * One assertion for the error catalog: the thing rejects (or throws) a `CyberneticError` with the given
 * code and the catalog's status; `field` must appear in the message, and `path` among `details.issues`.
 */
import { expect } from "vitest";
import { CyberneticError, type ErrorCode, errorCatalog } from "../../src/index.ts";

export interface ExpectedError {
  /** Text the message must contain (usually the offending field's name). */
  field?: string;
  /** A `details.issues[].path` the error must list. */
  path?: string;
  /** A pattern the message must match. */
  message?: RegExp;
}

/** Awaits `run` (a promise or a function), expects it to fail with `code`, and returns the error. */
export async function expectError(
  run: Promise<unknown> | (() => unknown),
  code: ErrorCode,
  expected: ExpectedError = {},
): Promise<CyberneticError> {
  let caught: unknown;
  let threw = false;
  try {
    await (typeof run === "function" ? run() : run);
  } catch (error) {
    threw = true;
    caught = error;
  }
  expect(threw, `expected a ${code} error, but nothing was thrown`).toBe(true);
  expect(CyberneticError.isInstance(caught), `not a CyberneticError: ${String(caught)}`).toBe(true);
  const error = caught as CyberneticError;
  expect({ code: error.code, message: error.message }).toMatchObject({ code });
  expect(error.status).toBe(errorCatalog[code]);
  if (expected.field !== undefined) expect(error.message).toContain(expected.field);
  if (expected.message !== undefined) expect(error.message).toMatch(expected.message);
  if (expected.path !== undefined) {
    const issues = (error.details as { issues?: { path: string }[] } | undefined)?.issues ?? [];
    expect(
      issues.map((i) => i.path),
      error.message,
    ).toContain(expected.path);
  }
  return error;
}
