/**
 * The artifact routes on a real server over a local storage adapter in a temp dir: streaming both ways,
 * ranges, hostile paths, size limit, scopes, tenant isolation, and 503 without storage.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createStorage } from "@cybernetic/storage";
import { afterAll, describe, expect, it } from "vitest";
import { ADMIN_KEY, createTenant, rawRequest, request, useGateway } from "./helpers/gateway-harness.ts";

const MAX_BYTES = 2 * 1024 * 1024;
const roots: string[] = [];
let root = "";

const h = useGateway({
  config: { artifactMaxBytes: MAX_BYTES },
  storage: async () => {
    root = await mkdtemp(join(tmpdir(), "cyb-gw-artifacts-"));
    roots.push(root);
    return createStorage({ driver: "local", root });
  },
});
const bare = useGateway({ withQueue: false });

afterAll(async () => {
  for (const dir of roots) await rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Every file under the storage root (temporary files included). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe("artifact routes", () => {
  it("stores, reads, heads, lists, replaces and deletes an artifact", async () => {
    const { key } = await createTenant(h);
    const put = await h.request("/v1/artifacts/reports/q4.txt", {
      method: "PUT",
      key,
      body: "hello artifacts",
      headers: { "content-type": "text/plain", "x-cybernetic-meta-author": "ops" },
    });
    expect(put.status).toBe(201);
    expect(put.body).toMatchObject({
      path: "reports/q4.txt",
      contentType: "text/plain",
      size: 15,
      sha256: sha256(Buffer.from("hello artifacts")),
      metadata: { author: "ops" },
    });

    const get = await h.request("/v1/artifacts/reports/q4.txt", { key });
    expect(get.status).toBe(200);
    expect(get.text).toBe("hello artifacts");
    expect(get.headers.get("content-type")).toBe("text/plain");
    expect(get.headers.get("content-length")).toBe("15");
    expect(get.headers.get("etag")).toBe(`"${put.body.sha256}"`);
    expect(get.headers.get("x-cybernetic-sha256")).toBe(put.body.sha256);
    expect(get.headers.get("accept-ranges")).toBe("bytes");
    expect(get.headers.get("x-cybernetic-meta-author")).toBe("ops");

    const head = await h.request("/v1/artifacts/reports/q4.txt", { method: "HEAD", key });
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect(head.headers.get("content-length")).toBe("15");
    expect(head.headers.get("etag")).toBe(`"${put.body.sha256}"`);

    const replaced = await h.request("/v1/artifacts/reports/q4.txt", {
      method: "PUT",
      key,
      body: "hello again",
      headers: { "content-type": "text/plain" },
    });
    expect(replaced.status).toBe(200);
    expect(replaced.body.size).toBe(11);
    await h.request("/v1/artifacts/reports/other.bin", { method: "PUT", key, body: new Uint8Array([1, 2]) });
    await h.request("/v1/artifacts/misc/a.bin", { method: "PUT", key, body: new Uint8Array([3]) });

    const list = await h.request("/v1/artifacts?prefix=reports/&limit=1", { key });
    expect(list.status).toBe(200);
    expect(list.body.items.map((a: { path: string }) => a.path)).toEqual(["reports/other.bin"]);
    const next = await h.request(`/v1/artifacts?prefix=reports/&limit=1&cursor=${list.body.nextCursor}`, {
      key,
    });
    expect(next.body.items.map((a: { path: string }) => a.path)).toEqual(["reports/q4.txt"]);
    expect(next.body.nextCursor).toBeUndefined();
    expect((await h.request("/v1/artifacts?limit=0", { key })).status).toBe(400);

    const del = await h.request("/v1/artifacts/reports/q4.txt", { method: "DELETE", key });
    expect(del.status).toBe(204);
    const gone = await h.request("/v1/artifacts/reports/q4.txt", { key });
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe("not_found");
    expect((await h.request("/v1/artifacts/reports/q4.txt", { method: "DELETE", key })).status).toBe(404);
  });

  it("streams 1 MB up and down with a matching SHA-256 and feeds the storage byte counters", async () => {
    const { key } = await createTenant(h);
    const bytes = randomBytes(1024 * 1024);
    const chunks = Array.from({ length: 16 }, (_, i) => bytes.subarray(i * 65536, (i + 1) * 65536));
    // Chunked (no Content-Length): the server cannot know the size up front.
    const put = await rawRequest(h.url, {
      method: "PUT",
      path: "/v1/artifacts/big/blob.bin",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/octet-stream" },
      chunks,
    });
    expect(put.status).toBe(201);
    expect(put.body.size).toBe(bytes.length);
    expect(put.body.sha256).toBe(sha256(bytes));

    const response = await fetch(`${h.url}/v1/artifacts/big/blob.bin`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(response.status).toBe(200);
    const hash = createHash("sha256");
    let size = 0;
    for await (const chunk of Readable.fromWeb(response.body as never)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    expect(size).toBe(bytes.length);
    expect(hash.digest("hex")).toBe(sha256(bytes));

    const metrics = await h.request("/metrics");
    const value = (direction: string) =>
      Number(
        new RegExp(`cybernetic_storage_bytes_total\\{direction="${direction}"\\} (\\d+)`).exec(
          metrics.text,
        )?.[1],
      );
    expect(value("in")).toBeGreaterThanOrEqual(bytes.length);
    expect(value("out")).toBeGreaterThanOrEqual(bytes.length);
  });

  it("serves byte ranges with 206 and refuses bad or unsatisfiable ones with 416", async () => {
    const { key } = await createTenant(h);
    await h.request("/v1/artifacts/r.txt", { method: "PUT", key, body: "0123456789" });
    const part = await h.request("/v1/artifacts/r.txt", { key, headers: { range: "bytes=2-5" } });
    expect(part.status).toBe(206);
    expect(part.text).toBe("2345");
    expect(part.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(part.headers.get("content-length")).toBe("4");
    const open = await h.request("/v1/artifacts/r.txt", { key, headers: { range: "bytes=7-" } });
    expect([open.status, open.text]).toEqual([206, "789"]);
    const suffix = await h.request("/v1/artifacts/r.txt", { key, headers: { range: "bytes=-3" } });
    expect([suffix.status, suffix.text, suffix.headers.get("content-range")]).toEqual([
      206,
      "789",
      "bytes 7-9/10",
    ]);
    for (const range of ["bytes=20-30", "bytes=5-2", "items=0-1", "bytes=0-1,3-4", "bytes=-0"]) {
      const res = await h.request("/v1/artifacts/r.txt", { key, headers: { range } });
      expect(res.status, range).toBe(416);
      expect(res.body.error.code, range).toBe("range_not_satisfiable");
    }
  });

  it("refuses hostile paths with 400 naming the broken rule", async () => {
    const { key } = await createTenant(h);
    for (const path of ["..%2F..%2Fetc%2Fpasswd", "a%00b", "a%5Cb", "%2Fetc%2Fpasswd", "a%2F.%2Fb"]) {
      const res = await rawRequest(h.url, {
        method: "PUT",
        path: `/v1/artifacts/${path}`,
        headers: { authorization: `Bearer ${key}`, "content-length": "1" },
        chunks: ["x"],
      });
      expect(res.status, path).toBe(400);
      expect(res.body.error.code, path).toBe("validation_failed");
      expect(JSON.stringify(res.body.error.details), path).toMatch(
        /rule|segment|slash|backslash|control|dot/i,
      );
      const get = await h.request(`/v1/artifacts/${path}`, { key });
      expect(get.status, path).toBe(400);
    }
    expect(await filesUnder(root).then((files) => files.filter((f) => f.includes("passwd")))).toEqual([]);
  });

  it("refuses an oversize upload with 413 and stores nothing", async () => {
    const { key } = await createTenant(h);
    const before = (await filesUnder(root)).length;
    const declared = await rawRequest(h.url, {
      method: "PUT",
      path: "/v1/artifacts/too/big.bin",
      headers: { authorization: `Bearer ${key}`, "content-length": String(MAX_BYTES + 1) },
      chunks: [Buffer.alloc(1024)],
    });
    expect(declared.status).toBe(413);
    expect(declared.body.error.code).toBe("payload_too_large");
    const chunk = Buffer.alloc(256 * 1024, 7);
    const streamed = await rawRequest(h.url, {
      method: "PUT",
      path: "/v1/artifacts/too/big.bin",
      headers: { authorization: `Bearer ${key}` },
      chunks: Array.from({ length: MAX_BYTES / chunk.length + 2 }, () => chunk),
    });
    expect(streamed.status).toBe(413);
    expect(streamed.body.error.code).toBe("payload_too_large");
    expect((await h.request("/v1/artifacts/too/big.bin", { key })).status).toBe(404);
    expect((await h.request("/v1/artifacts?prefix=too/", { key })).body.items).toEqual([]);
    await expect.poll(async () => (await filesUnder(root)).length).toBe(before);
  });

  it("requires the artifacts scope", async () => {
    const { tenant } = await createTenant(h);
    const issued = await h.request(`/v1/tenants/${tenant.id}/api-keys`, {
      method: "POST",
      key: ADMIN_KEY,
      body: { name: "no artifacts", scopes: ["read", "write"] },
    });
    expect(issued.status).toBe(201);
    const key = issued.body.key as string;
    for (const method of ["PUT", "GET", "HEAD", "DELETE"]) {
      const res = await h.request("/v1/artifacts/x.txt", {
        method,
        key,
        ...(method === "PUT" ? { body: "x" } : {}),
      });
      expect(res.status, method).toBe(403);
    }
    expect((await h.request("/v1/artifacts", { key })).status).toBe(403);
  });

  it("keeps tenants apart: another tenant's path is 404", async () => {
    const a = await createTenant(h);
    const b = await createTenant(h);
    expect(
      (await h.request("/v1/artifacts/secret.txt", { method: "PUT", key: a.key, body: "a's" })).status,
    ).toBe(201);
    for (const method of ["GET", "HEAD", "DELETE"]) {
      expect((await h.request("/v1/artifacts/secret.txt", { method, key: b.key })).status, method).toBe(404);
    }
    expect((await h.request("/v1/artifacts", { key: b.key })).body.items).toEqual([]);
    expect((await h.request("/v1/artifacts/secret.txt", { key: a.key })).text).toBe("a's");
  });

  it("answers 503 unavailable without storage", async () => {
    const { key } = await createTenant(bare);
    for (const [method, path] of [
      ["PUT", "/v1/artifacts/x.txt"],
      ["GET", "/v1/artifacts/x.txt"],
      ["DELETE", "/v1/artifacts/x.txt"],
      ["GET", "/v1/artifacts"],
    ] as const) {
      const res = await request(bare.url, path, { method, key, ...(method === "PUT" ? { body: "x" } : {}) });
      expect(res.status, `${method} ${path}`).toBe(503);
      expect(res.body.error.code).toBe("unavailable");
    }
  });
});
