import { StorageError } from "@cybernetic/storage";
import { CyberneticError, type ErrorCode } from "../errors.js";

const codes: Record<string, ErrorCode> = {
  not_found: "not_found",
  invalid_key: "validation_failed",
  invalid_argument: "validation_failed",
  invalid_range: "range_not_satisfiable",
  aborted: "validation_failed",
  too_large: "payload_too_large",
  conflict: "conflict",
  unsupported: "not_implemented",
  storage_unavailable: "unavailable",
};

/** Maps a `StorageError` onto the catalog (same message and details); anything else is returned as is. */
export function mapStorageError(error: unknown): unknown {
  if (!StorageError.isInstance(error)) return error;
  return new CyberneticError(codes[error.code] ?? "internal", error.message, {
    details: error.details,
    cause: error,
  });
}
