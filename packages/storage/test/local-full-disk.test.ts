/**
 * The local adapter on a full file system (a 1 MiB tmpfs, mounted by the test: CI runs as root): its
 * readiness check says "readable, not writable" (`details.writable: false`), a write fails cleanly with
 * nothing partial left, and what was stored before still reads back intact.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buffer as readAll } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalStorage, isStorageWriteFailure, StorageError } from "../src/index.ts";

let mountPoint = "";

beforeAll(async () => {
  mountPoint = await mkdtemp(join(tmpdir(), "cyb-full-disk-"));
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint], { stdio: "pipe" });
  } catch (error) {
    throw new Error(
      `this test mounts a 1 MiB tmpfs and needs the right to (run as root, or with CAP_SYS_ADMIN): ${String((error as Error).message).split("\n")[0]}`,
    );
  }
});

afterAll(async () => {
  if (!mountPoint) return;
  try {
    execFileSync("umount", [mountPoint], { stdio: "pipe" });
  } finally {
    await rm(mountPoint, { recursive: true, force: true });
  }
});

describe("local storage on a full disk", () => {
  it("check() reports writes failing as `writable: false`; old objects stay readable; nothing partial is left", async () => {
    const root = join(mountPoint, "store");
    const storage = await createLocalStorage({ root });
    await storage.check();
    const before = Buffer.from("stored before the disk filled up");
    await storage.put("reports/before.txt", before, { contentType: "text/plain" });

    // Fill what is left of the file system.
    const filler = join(mountPoint, "filler");
    await writeFile(filler, Buffer.alloc(2 * 1024 * 1024)).catch((e: NodeJS.ErrnoException) => {
      expect(e.code).toBe("ENOSPC");
    });

    const check = await storage.check().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(StorageError.isInstance(check) && check.code).toBe("storage_unavailable");
    expect((check as StorageError).details?.writable).toBe(false);
    expect(isStorageWriteFailure(check)).toBe(true);

    const put = await storage.put("reports/after.bin", Buffer.alloc(256 * 1024, 7)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStorageWriteFailure(put)).toBe(true);
    await expect(storage.head("reports/after.bin")).rejects.toMatchObject({ code: "not_found" });
    expect(Buffer.from(await readAll((await storage.get("reports/before.txt")).body))).toEqual(before);

    // No temp file or partial object left behind anywhere in the store.
    const leftovers = (await readdir(root, { recursive: true })).filter((name) => name.includes("after"));
    expect(leftovers).toEqual([]);

    await rm(filler);
    await storage.check();
  });

  it("a store that cannot be read is not a write failure", async () => {
    const storage = await createLocalStorage({ root: join(mountPoint, "gone") });
    await rm(join(mountPoint, "gone"), { recursive: true, force: true });
    const check = await storage.check().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(StorageError.isInstance(check) && check.code).toBe("storage_unavailable");
    expect(isStorageWriteFailure(check)).toBe(false);
  });
});
