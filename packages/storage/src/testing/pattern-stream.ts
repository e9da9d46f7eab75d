/**
 * Deterministic test data of any size without holding it in memory: a seeded pseudo-random 1 MiB
 * block, varied per MiB (its first 8 bytes hold the block number), streamed in chunks.
 */
import { createHash } from "node:crypto";
import { Readable } from "node:stream";

const BLOCK = 1024 * 1024;
const blocks = new Map<number, Buffer>();

function baseBlock(seed: number): Buffer {
  let block = blocks.get(seed);
  if (!block) {
    block = Buffer.allocUnsafe(BLOCK);
    let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
    for (let i = 0; i < BLOCK; i += 4) {
      // xorshift32
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      block.writeUInt32LE(x, i);
    }
    blocks.set(seed, block);
  }
  return block;
}

/**
 * Yields `size` deterministic bytes for `seed`, in chunks of `chunkSize` (at most 1 MiB).
 *
 * @example
 * ```ts
 * for (const chunk of patternChunks(3 << 20, 7)) hash.update(chunk);
 * ```
 */
export function* patternChunks(size: number, seed: number, chunkSize = 256 * 1024): Generator<Buffer> {
  const chunk = Math.min(chunkSize, BLOCK);
  const base = baseBlock(seed);
  for (let offset = 0, index = 0; offset < size; offset += BLOCK, index++) {
    const block = Buffer.from(base);
    block.writeBigUInt64LE(BigInt(index), 0);
    const blockSize = Math.min(BLOCK, size - offset);
    for (let at = 0; at < blockSize; at += chunk) yield block.subarray(at, Math.min(at + chunk, blockSize));
  }
}

/**
 * A Node readable of `patternChunks(size, seed, chunkSize)`.
 *
 * @example
 * ```ts
 * await storage.put("big.bin", patternStream(8 << 20, 1));
 * ```
 */
export function patternStream(size: number, seed: number, chunkSize?: number): Readable {
  return Readable.from(patternChunks(size, seed, chunkSize), { objectMode: false });
}

/**
 * Lowercase hex SHA-256 of `patternChunks(size, seed)`.
 *
 * @example
 * ```ts
 * expect(result.sha256).toBe(patternSha256(8 << 20, 1));
 * ```
 */
export function patternSha256(size: number, seed: number): string {
  const hash = createHash("sha256");
  for (const chunk of patternChunks(size, seed, BLOCK)) hash.update(chunk);
  return hash.digest("hex");
}
