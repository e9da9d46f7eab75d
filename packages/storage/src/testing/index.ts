/**
 * `@cybernetic/storage/testing`: the conformance suite every `StorageAdapter` passes, the hostile-key
 * list it uses, and deterministic test data. Needs vitest (an optional peer dependency).
 */

// The conformance suite
export {
  type DescribeStorageAdapterOptions,
  describeStorageAdapter,
  type StorageAdapterFactory,
  type StorageAdapterFixture,
} from "./describe-storage-adapter.js";

// Keys
export { type HostileKey, hostileKeys, maxLengthKey, trickyKeys } from "./hostile-keys.js";

// Test data
export { patternChunks, patternSha256, patternStream } from "./pattern-stream.js";
