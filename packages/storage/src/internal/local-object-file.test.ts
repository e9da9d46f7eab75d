import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { StorageError } from "../storage-error.js";
import { encodeHeader, PLACEHOLDER, readHeader } from "./local-object-file.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "cybernetic-header-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function read(name: string, bytes: Uint8Array) {
  const path = join(dir, name);
  await writeFile(path, bytes);
  const file = await open(path, "r");
  try {
    return await readHeader(file, path);
  } finally {
    await file.close();
  }
}

describe("local object file header", () => {
  const header = {
    contentType: "text/plain",
    metadata: { a: "1", "long-value": "v".repeat(2000) },
    sha256: "ab".repeat(32),
    lastModified: "2024-05-06T07:08:09.010Z",
  };

  it("round-trips, and a placeholder has the final header's length", async () => {
    const encoded = encodeHeader(header);
    expect(encodeHeader({ ...header, ...PLACEHOLDER }).byteLength).toBe(encoded.byteLength);
    const { header: back, length } = await read("ok", Buffer.concat([encoded, Buffer.from("content")]));
    expect(back).toEqual(header);
    expect(length).toBe(encoded.byteLength);
  });

  it("reads headers longer than the first read", async () => {
    const big = {
      ...header,
      metadata: Object.fromEntries(Array.from({ length: 400 }, (_, i) => [`k${i}`, "x".repeat(60)])),
    };
    const encoded = encodeHeader(big);
    expect(encoded.byteLength).toBeGreaterThan(16 * 1024);
    expect((await read("big", encoded)).header.metadata).toEqual(big.metadata);
  });

  it("rejects files that are not object files", async () => {
    const encoded = encodeHeader(header);
    const bad: [string, Uint8Array][] = [
      ["empty", new Uint8Array()],
      ["magic", Buffer.from("NOTMAGIC and more bytes")],
      ["truncated", encoded.subarray(0, encoded.byteLength - 5)],
      ["json", Buffer.concat([encoded.subarray(0, 12), Buffer.alloc(encoded.byteLength - 12, 0x7b)])],
    ];
    for (const [name, bytes] of bad) {
      const error = await read(name, bytes).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(StorageError.isInstance(error) && error.details?.reason, name).toBe("corrupt_object");
    }
  });
});
