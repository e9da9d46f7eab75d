import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { buffer as readAll } from "node:stream/consumers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalStorage } from "./local-storage.js";
import type { StorageAdapter } from "./storage-adapter.js";
import { StorageError } from "./storage-error.js";
import { describeStorageAdapter, patternStream } from "./testing/index.js";

async function tempRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), "cybernetic-local-"));
}

describeStorageAdapter("local", async () => {
  const root = await tempRoot();
  return {
    adapter: await createLocalStorage({ root }),
    reopen: () => createLocalStorage({ root }),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

async function expectCode(promise: Promise<unknown>, code: string, rule?: string): Promise<StorageError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(StorageError.isInstance(error)).toBe(true);
  expect((error as StorageError).code).toBe(code);
  if (rule) expect((error as StorageError).details?.rule).toBe(rule);
  return error as StorageError;
}

describe("createLocalStorage", () => {
  let root: string;
  let outside: string;
  let storage: StorageAdapter;

  beforeEach(async () => {
    root = await tempRoot();
    outside = await tempRoot();
    storage = await createLocalStorage({ root, highWaterMark: 64 * 1024 });
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it("lays objects out as one file per key: directories for segments, '<name>%' for the object", async () => {
    await storage.put("reports/2024/q1:final?.pdf", "pdf bytes", { contentType: "application/pdf" });
    expect(await readdir(join(root, "objects", "reports", "2024"))).toEqual(["q1%3Afinal%3F.pdf%"]);
    const file = await readFile(join(root, "objects", "reports", "2024", "q1%3Afinal%3F.pdf%"));
    expect(file.subarray(0, 8).toString("latin1")).toBe("CYBOBJ1\n");
    // Content and metadata in one file: the header, then the bytes.
    expect(file.toString("utf8")).toContain('"contentType":"application/pdf"');
    expect(file.subarray(file.byteLength - 9).toString()).toBe("pdf bytes");
  });

  it("leaves no temp file after successful, failed, aborted and concurrent writes", async () => {
    await storage.put("ok", "fine");
    await expectCode(storage.put("big", patternStream(1 << 20, 1), { maxBytes: 1000 }), "too_large");
    const controller = new AbortController();
    const body = Readable.from(
      (async function* () {
        yield Buffer.alloc(100_000);
        controller.abort();
        yield Buffer.alloc(100_000);
      })(),
      { objectMode: false },
    );
    await expectCode(storage.put("aborted", body, { signal: controller.signal }), "aborted");
    await Promise.all(Array.from({ length: 5 }, (_, i) => storage.put("same", `writer ${i}`)));
    expect(await readdir(join(root, "tmp"))).toEqual([]);
    expect((await storage.list()).items.map((i) => i.key)).toEqual(["ok", "same"]);
  });

  it("keeps metadata and content type across a restart", async () => {
    await storage.put("keep/me.json", '{"a":1}', {
      contentType: "application/json",
      metadata: { owner: "s5" },
    });
    const restarted = await createLocalStorage({ root });
    const head = await restarted.head("keep/me.json");
    expect(head).toMatchObject({ size: 7, contentType: "application/json", metadata: { owner: "s5" } });
    expect((await readAll((await restarted.get("keep/me.json")).body)).toString()).toBe('{"a":1}');
  });

  it("never shows temp files or foreign files in list(), and reports corrupt object files", async () => {
    await storage.put("visible", "x");
    await writeFile(join(root, "tmp", "cybernetic-in-progress.part"), "half an upload");
    await writeFile(join(root, "objects", "README"), "not an object: no % suffix");
    expect((await storage.list()).items.map((i) => i.key)).toEqual(["visible"]);
    // A corrupt object file is reported loudly, by get and list alike, never hidden or misread.
    await writeFile(join(root, "objects", "bad%"), "an object name, but not our format");
    await expectCode(storage.get("bad"), "storage_unavailable");
    const error = await expectCode(storage.list(), "storage_unavailable");
    expect(error.details?.reason).toBe("corrupt_object");
  });

  it("removes temp files a crash left behind, but only stale ones", async () => {
    const stale = join(root, "tmp", "cybernetic-crashed.part");
    const fresh = join(root, "tmp", "cybernetic-running.part");
    const foreign = join(root, "tmp", "someone-elses-file");
    for (const path of [stale, fresh, foreign]) await writeFile(path, "x");
    const old = new Date(Date.now() - 48 * 3600 * 1000);
    await utimes(stale, old, old);
    await utimes(foreign, old, old);
    await createLocalStorage({ root });
    expect((await readdir(join(root, "tmp"))).sort()).toEqual([
      "cybernetic-running.part",
      "someone-elses-file",
    ]);
  });

  it("refuses to follow a symlinked directory out of the root", async () => {
    const victim = await createLocalStorage({ root: outside });
    await victim.put("secret", "top secret");
    await symlink(join(outside, "objects"), join(root, "objects", "escape"));

    await expectCode(storage.get("escape/secret"), "invalid_key", "symlink");
    await expectCode(storage.head("escape/secret"), "invalid_key", "symlink");
    await expectCode(storage.exists("escape/secret"), "invalid_key", "symlink");
    await expectCode(storage.delete("escape/secret"), "invalid_key", "symlink");
    await expectCode(storage.put("escape/planted", "evil"), "invalid_key", "symlink");
    await expectCode(storage.put("escape/deeper/planted", "evil"), "invalid_key", "symlink");
    await expectCode(storage.copy("escape/secret", "stolen"), "invalid_key", "symlink");
    await expectCode(storage.move("escape/secret", "stolen"), "invalid_key", "symlink");
    await storage.put("mine", "x");
    await expectCode(storage.move("mine", "escape/planted"), "invalid_key", "symlink");

    expect((await storage.list()).items.map((i) => i.key)).toEqual(["mine"]);
    expect((await victim.list()).items.map((i) => i.key)).toEqual(["secret"]);
    expect((await readAll((await victim.get("secret")).body)).toString()).toBe("top secret");
  });

  it("refuses a symlinked object file, and replacing it never writes through the link", async () => {
    await writeFile(join(outside, "target"), "outside file");
    await symlink(join(outside, "target"), join(root, "objects", "link%"));
    await expectCode(storage.get("link"), "invalid_key", "symlink");
    await expectCode(storage.exists("link"), "invalid_key", "symlink");
    expect((await storage.list()).items).toEqual([]);
    await storage.put("link", "replaces the link itself");
    expect(await readFile(join(outside, "target"), "utf8")).toBe("outside file");
    expect((await readAll((await storage.get("link")).body)).toString()).toBe("replaces the link itself");
  });

  it("works when the root itself is reached through a symlink", async () => {
    const alias = join(outside, "alias");
    await symlink(root, alias);
    const viaAlias = await createLocalStorage({ root: alias });
    await viaAlias.put("a/b", "through the alias");
    expect((await readAll((await storage.get("a/b")).body)).toString()).toBe("through the alias");
  });

  it("rejects a key segment longer than a file name can be", async () => {
    const error = await expectCode(
      storage.put(`dir/${"x".repeat(300)}`, "x"),
      "invalid_key",
      "segment_too_long",
    );
    expect(error.message).toContain("segment_too_long");
    await expectCode(storage.put(`${"y".repeat(256)}/file`, "x"), "invalid_key", "segment_too_long");
    expect((await storage.put(`dir/${"x".repeat(254)}`, "x")).size).toBe(1);
  });

  it("answers conflict when a foreign file blocks a key's directory", async () => {
    await writeFile(join(root, "objects", "blocked"), "not a directory");
    await expectCode(storage.put("blocked/file", "x"), "conflict");
  });

  it("removes directories that deletes and moves leave empty", async () => {
    await storage.put("a/b/c/d", "x");
    await storage.put("a/keep", "x");
    await storage.delete("a/b/c/d");
    expect(await readdir(join(root, "objects", "a"))).toEqual(["keep%"]);
    await storage.move("a/keep", "z");
    expect((await readdir(join(root, "objects"))).sort()).toEqual(["z%"]);
  });

  it("rejects a tempDir it cannot rename from atomically, and bad options", async () => {
    await expectCode(createLocalStorage({ root: "" }), "invalid_argument");
    await expectCode(createLocalStorage({ root, highWaterMark: 10 }), "invalid_argument");
    await writeFile(join(outside, "file"), "x");
    await expectCode(createLocalStorage({ root: join(outside, "file") }), "storage_unavailable");
    // A tempDir on the same filesystem is fine.
    const temp = join(outside, "uploads");
    await mkdir(temp);
    const custom = await createLocalStorage({ root, tempDir: temp });
    await custom.put("via-custom-temp", "x");
    expect(await readdir(temp)).toEqual([]);
    expect(await custom.exists("via-custom-temp")).toBe(true);
  });

  it("refuses a tempDir on another filesystem, where rename could not be atomic", async () => {
    // /dev/shm (tmpfs) is another filesystem than the temp dir on disk on our machines; if it is not
    // (or is missing), the same-filesystem case must work instead.
    const other = await mkdtemp(join("/dev/shm", "cybernetic-exdev-")).catch(() =>
      mkdtemp(join(outside, "t-")),
    );
    try {
      const sameDevice = (await stat(other)).dev === (await stat(root)).dev;
      const attempt = createLocalStorage({ root, tempDir: other });
      if (sameDevice) await expect(attempt).resolves.toBeDefined();
      else expect((await expectCode(attempt, "invalid_argument")).details).toEqual({ field: "tempDir" });
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it("reports storage_unavailable from check() when the root is gone", async () => {
    await expect(storage.check()).resolves.toBeUndefined();
    await rm(root, { recursive: true, force: true });
    await expectCode(storage.check(), "storage_unavailable");
  });
});
