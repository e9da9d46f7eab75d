/**
 * `@cybernetic/storage`: one `StorageAdapter` interface, adapters for local disk, S3 and memory, shared
 * key validation, and (at `@cybernetic/storage/testing`) the conformance suite every adapter passes.
 */

export { compareKeys } from "./compare-keys.js";
// Configuration
export { createStorage } from "./create-storage.js";
// Adapters
export { createLocalStorage, type LocalStorageOptions } from "./local-storage.js";
export { createMemoryStorage, type MemoryStorageOptions } from "./memory-storage.js";
export { createS3Storage, type S3StorageOptions } from "./s3-storage.js";
// The interface
export type {
  ByteRange,
  GetOptions,
  GetResult,
  ListItem,
  ListOptions,
  ListResult,
  ObjectInfo,
  PutOptions,
  PutResult,
  SignedUrlOptions,
  StorageAdapter,
  StorageBody,
} from "./storage-adapter.js";
export {
  type LocalStorageConfig,
  localStorageConfigSchema,
  type MemoryStorageConfig,
  memoryStorageConfigSchema,
  type S3StorageConfig,
  type StorageConfig,
  type StorageConfigInput,
  s3StorageConfigSchema,
  storageConfigSchema,
} from "./storage-config.js";
// Errors
export {
  isStorageWriteFailure,
  StorageError,
  type StorageErrorCode,
  type StorageErrorOptions,
  storageErrorStatus,
} from "./storage-error.js";
// Keys
export {
  isValidKey,
  type KeyProblem,
  type KeyRule,
  keyProblem,
  MAX_KEY_BYTES,
  prefixProblem,
  validateKey,
  validatePrefix,
} from "./validate-key.js";
