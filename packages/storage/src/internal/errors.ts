/** Error factories shared by the adapters, so messages and details read the same everywhere. */
import { StorageError } from "../storage-error.js";

/** `not_found` for a key that holds no object. The key is valid, so it is safe to echo. */
export function notFoundError(key: string): StorageError {
  return new StorageError("not_found", `no object is stored under the key ${JSON.stringify(key)}`, {
    details: { key },
  });
}

/** Wraps an unexpected backend failure as `storage_unavailable`, keeping StorageErrors as they are. */
export function unavailableError(error: unknown, driver: string, operation: string): StorageError {
  if (StorageError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const errno = (error as { code?: unknown } | null)?.code;
  return new StorageError("storage_unavailable", `${driver} storage failed to ${operation}: ${message}`, {
    cause: error,
    details: { driver, operation, ...(typeof errno === "string" ? { errno } : {}) },
  });
}
