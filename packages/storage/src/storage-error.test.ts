import { describe, expect, it } from "vitest";
import { StorageError, storageErrorStatus } from "./storage-error.js";

describe("StorageError", () => {
  it("carries code, status, details and cause", () => {
    const cause = new Error("EIO");
    const error = new StorageError("storage_unavailable", "disk failed", {
      details: { driver: "local" },
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("StorageError");
    expect(error.code).toBe("storage_unavailable");
    expect(error.status).toBe(503);
    expect(error.details).toEqual({ driver: "local" });
    expect(error.cause).toBe(cause);
    expect(error.message).toBe("disk failed");
  });

  it("maps every code to its HTTP status", () => {
    expect(storageErrorStatus).toEqual({
      not_found: 404,
      invalid_key: 400,
      invalid_argument: 400,
      invalid_range: 416,
      aborted: 400,
      too_large: 413,
      conflict: 409,
      unsupported: 501,
      storage_unavailable: 503,
    });
    for (const [code, status] of Object.entries(storageErrorStatus)) {
      expect(new StorageError(code as keyof typeof storageErrorStatus, "x").status).toBe(status);
    }
  });

  it("recognises instances from another copy of the package by the Symbol.for marker", () => {
    // What a second install of @cybernetic/storage would produce: another class, the same marker.
    class ForeignStorageError extends Error {
      constructor() {
        super("from elsewhere");
        Object.defineProperty(this, Symbol.for("cybernetic.storage.error"), { value: true });
      }
    }
    expect(StorageError.isInstance(new ForeignStorageError())).toBe(true);
    expect(StorageError.isInstance(new StorageError("not_found", "x"))).toBe(true);
    expect(StorageError.isInstance(new Error("plain"))).toBe(false);
    expect(StorageError.isInstance({ code: "not_found" })).toBe(false);
    expect(StorageError.isInstance(null)).toBe(false);
    expect(StorageError.isInstance("not_found")).toBe(false);
  });

  it("keeps the marker out of JSON and enumeration", () => {
    const error = new StorageError("too_large", "big", { details: { limit: 5 } });
    expect(Object.keys(error)).not.toContain(Symbol.for("cybernetic.storage.error").toString());
    expect(
      Object.getOwnPropertySymbols(error).every((s) => !Object.prototype.propertyIsEnumerable.call(error, s)),
    ).toBe(true);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      name: "StorageError",
      code: "too_large",
      status: 413,
      details: { limit: 5 },
    });
  });
});
