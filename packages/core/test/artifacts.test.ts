/**
 * Tenant artifacts: blobs in a real storage adapter (local disk in a temp folder), records in Postgres.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { text } from "node:stream/consumers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { createLocalStorage, type StorageAdapter } from "../../storage/src/index.ts";
import { hostileKeys, patternSha256, patternStream } from "../../storage/src/testing/index.ts";
import { type ArtifactService, withTenant } from "../src/index.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

async function countFiles(dir: string): Promise<number> {
  let n = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) n++;
  return n;
}

describe("artifacts", () => {
  let root: string;
  let storage: StorageAdapter;
  const ctx = useTestPlatform({
    storage: async () => {
      root = await mkdtemp(join(tmpdir(), "cybernetic-artifacts-"));
      storage = await createLocalStorage({ root });
      return storage;
    },
  });
  let artifacts: ArtifactService;
  let a: string;
  let b: string;

  beforeAll(async () => {
    artifacts = ctx.platform.artifacts as ArtifactService;
    a = (await seedTenant(ctx.platform)).tenant.id;
    b = (await seedTenant(ctx.platform)).tenant.id;
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const events = (tenant: string, type: string) =>
    withTenant(ctx.db, tenant, (trx) =>
      trx.selectFrom("events").select("data").where("type", "=", type).execute(),
    );

  it("stores a stream with size and SHA-256, records it and writes artifact.stored", async () => {
    const stored = await artifacts.put(a, "reports/q4.txt", Readable.from(["hello ", "world"]), {
      contentType: "text/plain; charset=utf-8",
      metadata: { origin: "test" },
    });
    expect(stored).toMatchObject({
      path: "reports/q4.txt",
      size: 11,
      sha256: sha("hello world"),
      metadata: { origin: "test" },
    });
    const got = await artifacts.get(a, "reports/q4.txt");
    expect(await text(got.body)).toBe("hello world");
    expect(got.artifact.contentType).toBe("text/plain; charset=utf-8");
    expect((await events(a, "artifact.stored")).map((e) => e.data.path)).toContain("reports/q4.txt");
  });

  it("reads byte ranges", async () => {
    await artifacts.put(a, "range.txt", "0123456789");
    const got = await artifacts.get(a, "range.txt", { range: { start: 2, end: 5 } });
    expect(await text(got.body)).toBe("2345");
    expect(got.range).toEqual({ start: 2, end: 5 });
  });

  it("round-trips 10 MB with a matching SHA-256", async () => {
    const size = 10 * 1024 * 1024;
    const stored = await artifacts.put(a, "big/10mb.bin", patternStream(size, 7));
    expect(stored.size).toBe(size);
    expect(stored.sha256).toBe(patternSha256(size, 7));
    const got = await artifacts.get(a, "big/10mb.bin");
    const hash = createHash("sha256");
    for await (const chunk of got.body) hash.update(chunk as Buffer);
    expect(hash.digest("hex")).toBe(stored.sha256);
  });

  it("replacing a path swaps record and blob: readers see the old or the new artifact, and no blob is left over", async () => {
    await artifacts.put(a, "swap.txt", "old");
    const before = await countFiles(root);
    await artifacts.put(a, "swap.txt", "new content");
    const got = await artifacts.get(a, "swap.txt");
    expect(await text(got.body)).toBe("new content");
    expect(got.artifact.sha256).toBe(sha("new content"));
    expect(await countFiles(root)).toBe(before);
    const stored = await events(a, "artifact.stored");
    expect(stored.filter((e) => e.data.path === "swap.txt").map((e) => e.data.replaced)).toEqual([
      false,
      true,
    ]);
  });

  it("an upload aborted half-way leaves no row and no blob", async () => {
    const before = await countFiles(root);
    const controller = new AbortController();
    let sent = 0;
    const body = new Readable({
      read() {
        sent += 64 * 1024;
        if (sent > 1024 * 1024) {
          controller.abort(new Error("client went away"));
          return;
        }
        this.push(Buffer.alloc(64 * 1024, 1));
      },
    });
    await expect(artifacts.put(a, "aborted.bin", body, { signal: controller.signal })).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(artifacts.head(a, "aborted.bin")).rejects.toMatchObject({ code: "not_found" });
    expect(await countFiles(root)).toBe(before);
  });

  it("enforces the size limit", async () => {
    const { createArtifactService } = await import("../src/services/artifacts.ts");
    const small = createArtifactService(ctx.db, storage, { maxBytes: 1000 });
    await expect(small.put(a, "too-big.bin", Buffer.alloc(1001))).rejects.toMatchObject({
      code: "payload_too_large",
    });
    await expect(small.head(a, "too-big.bin")).rejects.toMatchObject({ code: "not_found" });
  });

  it("rejects bad metadata and content types as validation errors, storing nothing", async () => {
    await expect(artifacts.put(a, "meta.txt", "x", { metadata: { "Bad Key!": "v" } })).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(artifacts.put(a, "meta.txt", "x", { contentType: "not a type" })).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(artifacts.put(a, "meta.txt", "x", { expiresAt: "soon" })).rejects.toMatchObject({
      code: "validation_failed",
    });
    await expect(artifacts.head(a, "meta.txt")).rejects.toMatchObject({ code: "not_found" });
  });

  it(`rejects ${hostileKeys.length} hostile paths with the rule they break`, async () => {
    expect(hostileKeys.length).toBeGreaterThanOrEqual(30);
    for (const { key, rule } of hostileKeys) {
      const error = await artifacts.put(a, key, "x").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, `path ${JSON.stringify(key)}`).toMatchObject({ code: "validation_failed" });
      expect(JSON.stringify((error as { details: unknown }).details)).toContain(rule);
    }
  });

  it("a tenant can never address another tenant's artifacts, whatever path it sends", async () => {
    await artifacts.put(b, "secret.txt", "tenant b only");
    await expect(artifacts.get(a, "secret.txt")).rejects.toMatchObject({ code: "not_found" });
    await expect(artifacts.head(a, "secret.txt")).rejects.toMatchObject({ code: "not_found" });
    await expect(artifacts.delete(a, "secret.txt")).rejects.toMatchObject({ code: "not_found" });
    for (const path of [`tenants/${b}/secret.txt`, `../${b}/secret.txt`, `tenants/${b}/objects`]) {
      await artifacts.get(a, path).then(
        () => expect.unreachable(`read ${path}`),
        (e: unknown) => expect(["not_found", "validation_failed"]).toContain((e as { code: string }).code),
      );
    }
    expect((await artifacts.list(a, { prefix: "" })).items.map((i) => i.path)).not.toContain("secret.txt");
    expect(await text((await artifacts.get(b, "secret.txt")).body)).toBe("tenant b only");
  });

  it("lists by prefix with a stable cursor", async () => {
    for (const name of ["l/a", "l/b", "l/c", "l/d", "l/e", "m/x"]) await artifacts.put(a, name, name);
    const first = await artifacts.list(a, { prefix: "l/", limit: 2 });
    expect(first.items.map((i) => i.path)).toEqual(["l/a", "l/b"]);
    const second = await artifacts.list(a, { prefix: "l/", limit: 2, cursor: first.nextCursor });
    expect(second.items.map((i) => i.path)).toEqual(["l/c", "l/d"]);
    const third = await artifacts.list(a, { prefix: "l/", limit: 2, cursor: second.nextCursor });
    expect(third.items.map((i) => i.path)).toEqual(["l/e"]);
    expect(third.nextCursor).toBeUndefined();
    await expect(artifacts.list(a, { cursor: "garbage!" })).rejects.toMatchObject({ code: "invalid_cursor" });
  });

  it("deletes the record, the blob and writes artifact.deleted", async () => {
    await artifacts.put(a, "gone.txt", "bye");
    const before = await countFiles(root);
    await artifacts.delete(a, "gone.txt");
    expect(await countFiles(root)).toBe(before - 1);
    await expect(artifacts.get(a, "gone.txt")).rejects.toMatchObject({ code: "not_found" });
    expect((await events(a, "artifact.deleted")).map((e) => e.data.path)).toContain("gone.txt");
  });

  it("removes expired artifacts across tenants, and only those", async () => {
    await artifacts.put(a, "exp/old.txt", "old", { expiresAt: new Date(Date.now() + 300) });
    await artifacts.put(b, "exp/old.txt", "old", { expiresAt: new Date(Date.now() + 300) });
    await artifacts.put(a, "exp/keep.txt", "keep", { expiresAt: new Date(Date.now() + 3_600_000) });
    await new Promise((r) => setTimeout(r, 400));
    expect(await artifacts.removeExpired()).toBe(2);
    await expect(artifacts.head(a, "exp/old.txt")).rejects.toMatchObject({ code: "not_found" });
    await expect(artifacts.head(b, "exp/old.txt")).rejects.toMatchObject({ code: "not_found" });
    expect((await artifacts.head(a, "exp/keep.txt")).path).toBe("exp/keep.txt");
  });
});
