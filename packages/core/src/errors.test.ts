import { describe, expect, it } from "vitest";
import {
  CyberneticError,
  type ErrorCode,
  errorCatalog,
  notFound,
  validationError,
  versionConflict,
} from "./errors.js";

describe("errorCatalog", () => {
  it.each<[ErrorCode, number]>([
    ["validation_failed", 400],
    ["invalid_json", 400],
    ["invalid_cursor", 400],
    ["unauthorized", 401],
    ["forbidden", 403],
    ["not_found", 404],
    ["conflict", 409],
    ["version_conflict", 409],
    ["duplicate", 409],
    ["payload_too_large", 413],
    ["unsupported_media_type", 415],
    ["rate_limited", 429],
    ["internal", 500],
    ["unavailable", 503],
  ])("%s is HTTP %i (DESIGN.md's status table)", (code, status) => {
    expect(errorCatalog[code]).toBe(status);
    expect(new CyberneticError(code, "x").status).toBe(status);
  });

  it("every code maps to a 4xx or 5xx status that the error takes", () => {
    for (const [code, status] of Object.entries(errorCatalog) as [ErrorCode, number][]) {
      expect(status).toBeGreaterThanOrEqual(400);
      expect(status).toBeLessThan(600);
      expect(new CyberneticError(code, code).status).toBe(status);
    }
  });
});

describe("CyberneticError", () => {
  it("carries code, status, details, cause and headers, and is an Error", () => {
    const cause = new Error("driver");
    const error = new CyberneticError("rate_limited", "slow down", {
      details: { limit: 10 },
      cause,
      headers: { "retry-after": "3" },
    });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: "CyberneticError",
      code: "rate_limited",
      status: 429,
      message: "slow down",
      details: { limit: 10 },
      headers: { "retry-after": "3" },
    });
    expect(error.cause).toBe(cause);
    expect(error.stack).toContain("slow down");
  });

  it("without a cause has no cause property; a status override wins", () => {
    const error = new CyberneticError("internal", "x", { status: 502 });
    expect("cause" in error).toBe(false);
    expect(error.status).toBe(502);
    expect(error.code).toBe("internal");
  });

  describe("isInstance", () => {
    it("is true for its own errors and for a structurally marked object from another copy", () => {
      expect(CyberneticError.isInstance(new CyberneticError("not_found", "x"))).toBe(true);
      // A second copy of the package defines its own class but the same Symbol.for marker.
      const foreign = { [Symbol.for("cybernetic.error")]: true, code: "not_found", message: "x" };
      expect(CyberneticError.isInstance(foreign)).toBe(true);
      const otherCopysMarker: unique symbol = Symbol.for("cybernetic.error");
      class OtherCopyError extends Error {
        readonly [otherCopysMarker] = true;
      }
      expect(CyberneticError.isInstance(new OtherCopyError("x"))).toBe(true);
      expect(new OtherCopyError("x") instanceof CyberneticError).toBe(false);
    });

    it.each<[string, unknown]>([
      ["a plain Error", new Error("x")],
      ["null", null],
      ["undefined", undefined],
      ["a string", "CyberneticError"],
      ["a lookalike without the marker", { name: "CyberneticError", code: "not_found", status: 404 }],
      ["a marker that is not true", { [Symbol.for("cybernetic.error")]: "yes" }],
      ["a marker under a non-global symbol", { [Symbol("cybernetic.error")]: true }],
      ["a marker under a string key", { "cybernetic.error": true }],
    ])("is false for %s", (_, value) => {
      expect(CyberneticError.isInstance(value)).toBe(false);
    });
  });

  describe("toJSON", () => {
    it("gives code and message, and details only when there are some", () => {
      expect(new CyberneticError("forbidden", "no").toJSON()).toEqual({ code: "forbidden", message: "no" });
      expect(Object.keys(new CyberneticError("forbidden", "no").toJSON())).toEqual(["code", "message"]);
      expect(new CyberneticError("duplicate", "taken", { details: { constraint: "c" } }).toJSON()).toEqual({
        code: "duplicate",
        message: "taken",
        details: { constraint: "c" },
      });
    });

    it("never leaks the cause, the stack or headers into the body", () => {
      const error = new CyberneticError("internal", "boom", {
        cause: new Error("password=hunter2"),
        headers: { "x-secret": "1" },
      });
      const body = JSON.stringify(error);
      expect(JSON.parse(body)).toEqual({ code: "internal", message: "boom" });
      expect(body).not.toContain("hunter2");
      expect(body).not.toContain("x-secret");
    });
  });
});

describe("error factories", () => {
  it("validationError lists the issues under details.issues and keeps the cause", () => {
    const cause = new Error("zod");
    const error = validationError(
      "slug must be lowercase",
      [{ path: "slug", message: "bad character" }],
      cause,
    );
    expect(error).toMatchObject({
      code: "validation_failed",
      status: 400,
      message: "slug must be lowercase",
      details: { issues: [{ path: "slug", message: "bad character" }] },
    });
    expect(error.cause).toBe(cause);
    expect(validationError("bad").details).toEqual({ issues: [] });
  });

  it("notFound names the kind and the id", () => {
    expect(notFound("episode", "4f1c")).toMatchObject({
      code: "not_found",
      status: 404,
      message: "episode 4f1c not found",
      details: { kind: "episode", id: "4f1c" },
    });
    expect(notFound("tenant").toJSON()).toEqual({
      code: "not_found",
      message: "tenant not found",
      details: { kind: "tenant" },
    });
  });

  it("versionConflict names both versions", () => {
    const error = versionConflict("system 3 state", 4, 5);
    expect(error).toMatchObject({
      code: "version_conflict",
      status: 409,
      details: { expectedVersion: 4, currentVersion: 5 },
    });
    expect(error.message).toContain("system 3 state");
    expect(error.message).toMatch(/version 5, not 4/);
  });
});
