/** Proofs for the local adapter: 10 MB round trip in bounded memory, restart, symlink escape. */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createLocalStorage, StorageError } from "@cybernetic/storage";
import { patternSha256, patternStream } from "@cybernetic/storage/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { measurePeakRssGrowth } from "./support/rss.js";

const MiB = 1024 * 1024;

describe("local adapter proofs", () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "cybernetic-local-proof-"));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it("round-trips 10 MB with a matching SHA-256 while RSS grows by less than 64 MB", {
    timeout: 60_000,
  }, async () => {
    const storage = await createLocalStorage({ root });
    const size = 10 * 1000 * 1000;
    const expected = patternSha256(size, 10);
    const { result: put, peakGrowth: putGrowth } = await measurePeakRssGrowth(() =>
      storage.put("proof/10mb.bin", patternStream(size, 10, 64 * 1024)),
    );
    expect(put).toMatchObject({ size, sha256: expected });
    expect(putGrowth).toBeLessThan(64 * MiB);

    const { result: digest, peakGrowth: getGrowth } = await measurePeakRssGrowth(async () => {
      const { body, size: got } = await storage.get("proof/10mb.bin");
      expect(got).toBe(size);
      const hash = createHash("sha256");
      for await (const chunk of body) hash.update(chunk as Buffer);
      return hash.digest("hex");
    });
    expect(digest).toBe(expected);
    expect(getGrowth).toBeLessThan(64 * MiB);
    expect(await readdir(join(root, "tmp"))).toEqual([]);
  });

  it("keeps content, content type and metadata across a restart", async () => {
    const first = await createLocalStorage({ root });
    await first.put("restart/a.csv", "x,y\n1,2\n", { contentType: "text/csv", metadata: { rows: "1" } });
    const second = await createLocalStorage({ root });
    expect(await second.head("restart/a.csv")).toMatchObject({
      size: 8,
      contentType: "text/csv",
      metadata: { rows: "1" },
    });
    expect((await second.list("restart/")).items.map((i) => i.key)).toEqual(["restart/a.csv"]);
  });

  it("refuses a symlink that escapes the root", async () => {
    const outside = await mkdtemp(join(tmpdir(), "cybernetic-outside-"));
    try {
      const storage = await createLocalStorage({ root });
      await symlink(outside, join(root, "objects", "escape"));
      const error = await storage.put("escape/planted.txt", "evil").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(StorageError.isInstance(error) && error.details?.rule).toBe("symlink");
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(outside, { recursive: true, force: true });
    }
  });
});
