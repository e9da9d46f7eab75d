/**
 * Fault: the local storage root fills up. On a 2 MiB tmpfs (mounted here when the machine allows it; we
 * run as root), uploads past its capacity must fail with a JSON 503 (or 507), leave nothing partial and
 * the previous object intact, while reads and the rest of the API keep working and the process stays up.
 * A disk filled to the brim makes `/ready` report storage writes degraded (still 200: reads and the
 * database work) and `cybernetic_ready_check{check="storage",state="degraded"}` 1; freeing space clears it.
 *
 * Where `mount` is refused (no CAP_SYS_ADMIN), a separately named test says so and checks what can be
 * checked without a full disk; it never passes silently as the tmpfs case.
 */
import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPlatform, silentLogger } from "../../packages/core/src/index.ts";
import { createGateway, type ServedGateway } from "../../packages/gateway/src/index.ts";
import { rawRequest } from "../../packages/gateway/test/helpers/gateway-harness.ts";
import { createLocalStorage, type StorageAdapter } from "../../packages/storage/src/index.ts";
import { seedTenant } from "../factories/index.ts";
import { useTestPlatform } from "../setup/database.ts";
import { captureProcessFaults } from "./support/process-faults.ts";

const run = promisify(execFile);
const CAPACITY = "2m";

const ctx = useTestPlatform();
const faults = captureProcessFaults();
let mountPoint = "";
let mounted = false;
let mountRefusal = "";
let storage: StorageAdapter;
let server: ServedGateway;
let key = "";

// Mounted while the file is collected, so the tests can be chosen by whether it worked (never skipped).
mountPoint = await mkdtemp(join(tmpdir(), "cybernetic-fault-disk-"));
try {
  await run("mount", ["-t", "tmpfs", "-o", `size=${CAPACITY}`, "tmpfs", mountPoint]);
  mounted = true;
  // Should afterAll never run (every test filtered out), the mount still goes with the process.
  process.once("exit", () => {
    try {
      execFileSync("umount", ["-l", mountPoint], { stdio: "ignore" });
    } catch {
      // already unmounted by afterAll
    }
  });
} catch (error) {
  mountRefusal = String((error as { stderr?: string }).stderr || (error as Error).message).trim();
}

beforeAll(async () => {
  const root = join(mountPoint, "store");
  await mkdir(root, { recursive: true });
  storage = await createLocalStorage({ root });
  key = (await seedTenant(ctx.platform)).apiKey.key;
  const gateway = createGateway({
    platform: createPlatform({ db: ctx.db, storage }),
    storage,
    config: { apiKeyCacheTtlMs: 0 },
    logger: silentLogger,
  });
  server = await gateway.serve({ port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  await server?.close({ timeoutMs: 1_000 });
  await storage?.close?.();
  if (mounted) await run("umount", [mountPoint]).catch(() => run("umount", ["-l", mountPoint]));
  await rm(mountPoint, { recursive: true, force: true });
});

const put = (path: string, body: Buffer) =>
  rawRequest(server.url, {
    method: "PUT",
    path: `/v1/artifacts/${path}`,
    headers: {
      authorization: `Bearer ${key}`,
      "content-type": "application/octet-stream",
      "content-length": String(body.length),
    },
    // In 64 KiB pieces, as a client streaming a file would.
    chunks: Array.from({ length: Math.ceil(body.length / 65_536) }, (_, i) =>
      body.subarray(i * 65_536, (i + 1) * 65_536),
    ),
  });

const get = async (path: string) => {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
};

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** Every file under `dir` with its size (what the upload left on disk). */
async function files(dir: string): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) {
      const path = join(entry.parentPath, entry.name);
      out[path.slice(dir.length)] = (await stat(path)).size;
    }
  }
  return out;
}

/** Fills the file system under `path` with one file until it is full; returns how much was written. */
async function fill(path: string): Promise<number> {
  const file = await open(path, "w");
  const chunk = Buffer.alloc(16 * 1024, 0x5a);
  let written = 0;
  try {
    for (;;) written += (await file.write(chunk)).bytesWritten;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    await file.close().catch(() => {});
  }
  // Whatever single blocks are left.
  const small = await open(path, "a");
  try {
    for (;;) written += (await small.write(Buffer.alloc(512, 0x5a))).bytesWritten;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    await small.close().catch(() => {});
  }
  return written;
}

describe("storage that fills up mid-upload (a 2 MiB tmpfs as the local root)", () => {
  if (mounted) {
    it("an upload past capacity: a JSON 503/507, nothing partial, the old object intact, reads and the process fine", async () => {
      const original = Buffer.alloc(300 * 1024, 0x31);
      expect((await put("reports/keep.bin", original)).status).toBe(201);
      const before = await files(mountPoint);

      // Replacing it with more than the disk holds, and a new path the same.
      const tooBig = Buffer.alloc(3 * 1024 * 1024, 0x32);
      const replaced = await put("reports/keep.bin", tooBig);
      const fresh = await put("reports/new.bin", tooBig);
      for (const res of [replaced, fresh]) {
        expect([503, 507], res.text).toContain(res.status);
        expect(res.headers.get("content-type")).toContain("application/json");
        expect(res.body.error.code).toMatch(/unavailable|insufficient_storage|storage/);
        expect(res.body.requestId).toBeTruthy();
      }
      console.log(
        `[fault] disk-full: 3 MiB upload on a ${CAPACITY} tmpfs answered ${replaced.status} ${replaced.body.error.code} ` +
          `(${JSON.stringify(replaced.body.error.message)}), retry-after ${replaced.headers.get("retry-after")}`,
      );

      // Nothing partial: the files on disk are those from before; the old object reads back whole.
      expect(await files(mountPoint)).toEqual(before);
      const kept = await get("/v1/artifacts/reports/keep.bin");
      expect(kept.status).toBe(200);
      expect(sha256(kept.bytes)).toBe(sha256(original));
      expect((await get("/v1/artifacts/reports/new.bin")).status).toBe(404);
      const list = await fetch(`${server.url}/v1/artifacts?prefix=reports/`, {
        headers: { authorization: `Bearer ${key}` },
      });
      expect((await list.json()).items.map((a: { path: string }) => a.path)).toEqual(["reports/keep.bin"]);

      // The process and the rest of the API are fine.
      expect(faults.uncaught).toEqual([]);
      expect((await get("/health")).status).toBe(200);
      expect((await get("/v1/episodes")).status).toBe(200);
      const ready = await fetch(`${server.url}/ready`);
      expect(ready.status).toBe(200);

      // A small upload still fits.
      expect((await put("reports/small.bin", Buffer.alloc(10 * 1024, 0x33))).status).toBe(201);
    });

    it("a full disk: /ready says storage writes are degraded (200, reads work), the metric says so, and it clears", async () => {
      const filler = join(mountPoint, "filler");
      const filled = await fill(filler);
      try {
        const ready = await fetch(`${server.url}/ready`);
        const body = await ready.json();
        console.log(
          `[fault] disk-full: disk filled (${filled} bytes of filler); /ready ${ready.status} ${JSON.stringify(body)}`,
        );
        expect(ready.status, JSON.stringify(body)).toBe(200);
        expect(body.status).toBe("degraded");
        expect(body.checks.storage.status).toBe("degraded");
        expect(body.checks.database.status).toBe("ok");
        const metrics = await (await fetch(`${server.url}/metrics`)).text();
        expect(metrics).toMatch(/^cybernetic_ready_check\{check="storage",state="degraded"\} 1$/m);

        // Reads work; writes fail cleanly.
        const kept = await get("/v1/artifacts/reports/keep.bin");
        expect(kept.status).toBe(200);
        const refused = await put("reports/late.bin", Buffer.alloc(64 * 1024, 0x34));
        expect([503, 507], refused.text).toContain(refused.status);
        expect((await get("/v1/artifacts/reports/late.bin")).status).toBe(404);
      } finally {
        await rm(filler, { force: true });
      }
      const ready = await fetch(`${server.url}/ready`);
      const body = await ready.json();
      expect(ready.status).toBe(200);
      expect(body.status).toBe("ready");
      expect(body.checks.storage.status).toBe("ok");
      expect((await put("reports/late.bin", Buffer.alloc(64 * 1024, 0x34))).status).toBe(201);
      expect(faults.uncaught).toEqual([]);
    });
  } else {
    it("needs mount rights for the tmpfs case; without them, uploads, reads and /ready on the plain disk", async () => {
      console.log(
        `[fault] disk-full: tmpfs not mounted (${mountRefusal}); the full-disk cases need mount rights`,
      );
      const original = Buffer.alloc(300 * 1024, 0x31);
      expect((await put("reports/keep.bin", original)).status).toBe(201);
      expect(sha256((await get("/v1/artifacts/reports/keep.bin")).bytes)).toBe(sha256(original));
      expect((await fetch(`${server.url}/ready`)).status).toBe(200);
      expect(faults.uncaught).toEqual([]);
    });
  }
});
