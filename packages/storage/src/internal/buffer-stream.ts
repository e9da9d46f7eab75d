/** A Node readable over an in-memory buffer, in fixed-size chunks (no copies). */
import { Readable } from "node:stream";

export function bufferStream(data: Uint8Array, chunkSize: number): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (offset >= data.byteLength) {
        this.push(null);
        return;
      }
      const end = Math.min(offset + chunkSize, data.byteLength);
      this.push(data.subarray(offset, end));
      offset = end;
    },
  });
}
