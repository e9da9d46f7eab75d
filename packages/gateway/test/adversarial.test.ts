/**
 * Adversarial probes of a real gateway (loopback server, per-file PostgreSQL, local storage in a temp
 * dir): hostile Range headers, aborted and racing streams, encoded paths, hostile JSON and query strings,
 * concurrent writers, odd headers, and clients that leave while they are being authenticated. Every
 * answer must be a 2xx or a JSON 4xx with the request id: never a 5xx, a hang, a crash or a leak.
 *
 * Several cases here were defects when this file was written (an upload abandoned during authentication
 * hung forever, a CORS preflight repeated allow-origin, parallel first uploads orphaned blobs, and bodies
 * with lone surrogates, invalid UTF-8, another charset or `__proto__` keys were silently altered); each
 * asserts the fixed behaviour.
 */
import { createHash, randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage } from "@cybernetic/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fdsUnder, filesUnder } from "./helpers/files.ts";
import {
  ADMIN_KEY,
  type ApiResponse,
  type Body,
  createTenant,
  rawRequest,
  useGateway,
} from "./helpers/gateway-harness.ts";

const ORIGIN = "https://app.example.com";
const roots: string[] = [];
let root = "";

const h = useGateway({
  config: {
    artifactMaxBytes: 8 * 1024 * 1024,
    corsOrigins: [ORIGIN],
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  },
  storage: async () => {
    root = await mkdtemp(join(tmpdir(), "cyb-gw-adversarial-"));
    roots.push(root);
    return createStorage({ driver: "local", root });
  },
});

afterAll(async () => {
  for (const dir of roots) await rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const json = { "content-type": "application/json" };

const openFds = () => readdirSync("/proc/self/fd").length;

/** Asserts the shape every error must have: JSON `{ error: { code, message }, requestId }`, id echoed. */
function expectJsonError(res: ApiResponse, status: number, code?: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get("content-type"), res.text).toMatch(/^application\/json/);
  expect(res.body?.error?.code, res.text).toBeTypeOf("string");
  if (code !== undefined) expect(res.body.error.code, res.text).toBe(code);
  expect(res.body.requestId).toBe(res.headers.get("x-request-id"));
}

interface RawResponse {
  status: number;
  headers: Map<string, string[]>;
  body: Body;
  text: string;
}

/**
 * Writes `text` on a fresh TCP connection and reads until the server closes it (send `connection:
 * close`). With `closeAfterMs` the client goes away that long after writing, without reading.
 */
function rawHttp(base: string, text: string, options: { closeAfterMs?: number } = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port), url.hostname);
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => {});
    socket.on("close", () => {
      const all = Buffer.concat(chunks).toString("latin1");
      const split = all.indexOf("\r\n\r\n");
      const head = split === -1 ? all : all.slice(0, split);
      const text = split === -1 ? "" : Buffer.from(all.slice(split + 4), "latin1").toString("utf8");
      const [statusLine = "", ...lines] = head.split("\r\n");
      const headers = new Map<string, string[]>();
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        headers.set(name, [...(headers.get(name) ?? []), line.slice(colon + 1).trim()]);
      }
      let body: Body;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      resolve({ status: Number(statusLine.split(" ")[1] ?? 0), headers, body, text });
    });
    socket.write(text);
    if (options.closeAfterMs !== undefined) setTimeout(() => socket.destroy(), options.closeAfterMs);
  });
}

function expectRawJsonError(res: RawResponse, status: number) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get("content-type")?.[0], res.text).toMatch(/^application\/json/);
  expect(res.body?.error?.code, res.text).toBeTypeOf("string");
  expect(res.body.requestId).toBe(res.headers.get("x-request-id")?.[0]);
}

/** GETs `path`, reads at least `bytes` of the body, then drops the connection; resolves once closed. */
function downloadAndAbort(path: string, key: string, bytes: number): Promise<number> {
  const url = new URL(h.url);
  return new Promise((resolve) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path,
        agent: false,
        headers: { authorization: `Bearer ${key}` },
      },
      (res) => {
        let got = 0;
        res.on("data", (chunk: Buffer) => {
          got += chunk.length;
          if (got >= bytes) req.destroy();
        });
        res.on("error", () => {});
      },
    );
    req.on("error", () => {});
    req.on("close", () => resolve(0));
    req.end();
  });
}

describe("artifacts: hostile Range headers", () => {
  let key = "";
  beforeAll(async () => {
    key = (await createTenant(h)).key;
    expect((await h.request("/v1/artifacts/r.txt", { method: "PUT", key, body: "0123456789" })).status).toBe(
      201,
    );
    expect(
      (await h.request("/v1/artifacts/empty.txt", { method: "PUT", key, body: new Uint8Array(0) })).status,
    ).toBe(201);
  });

  it.each([
    ["bytes=0-0", "0", "bytes 0-0/10"],
    ["bytes=9-9", "9", "bytes 9-9/10"],
    ["bytes=-10", "0123456789", "bytes 0-9/10"],
    ["bytes=-11", "0123456789", "bytes 0-9/10"],
    ["bytes=0-9999999999999999", "0123456789", "bytes 0-9/10"],
  ])("%s → 206 %s", async (range, body, contentRange) => {
    const res = await h.request("/v1/artifacts/r.txt", { key, headers: { range } });
    expect(res.status).toBe(206);
    expect(res.text).toBe(body);
    expect(res.headers.get("content-range")).toBe(contentRange);
    expect(res.headers.get("content-length")).toBe(String(body.length));
  });

  it.each(
    [
      "bytes=10-",
      "bytes=9999999999999999-",
      "bytes=-99999999999999999",
      "bytes=99999999999999999999999-1",
      "BYTES=1-2",
      "bytes = 1-2",
      "bytes=1e3-",
      "bytes=0x1-2",
      "bytes=1-2,",
      "bytes=,1-2",
      "bytes=0-1,0-1,0-1,0-1,0-1",
      "bytes=",
      "bytes=-",
      "bytes=--1",
      "bytes=1--2",
      "bytes=-1-2",
      `bytes=${"0".repeat(5000)}-1`,
    ].map((range) => ({
      range,
      label: range.length > 40 ? `${range.slice(0, 30)}… (${range.length} chars)` : range,
    })),
  )("$label → 416 JSON naming the size", async ({ range }) => {
    const res = await h.request("/v1/artifacts/r.txt", { key, headers: { range } });
    expectJsonError(res, 416, "range_not_satisfiable");
    expect(res.headers.get("content-range")).toBe("bytes */10");
  });

  it("an empty artifact: whole 200, any range 416, HEAD ignores the range", async () => {
    const whole = await h.request("/v1/artifacts/empty.txt", { key });
    expect([whole.status, whole.text, whole.headers.get("content-length")]).toEqual([200, "", "0"]);
    for (const range of ["bytes=0-", "bytes=-1", "bytes=0-0"]) {
      expectJsonError(
        await h.request("/v1/artifacts/empty.txt", { key, headers: { range } }),
        416,
        "range_not_satisfiable",
      );
    }
    const head = await h.request("/v1/artifacts/r.txt", {
      method: "HEAD",
      key,
      headers: { range: "bytes=5-2" },
    });
    expect([head.status, head.headers.get("content-length")]).toEqual([200, "10"]);
  });
});

describe("artifacts: streams that are aborted, deleted or replaced", () => {
  it("downloads aborted mid-stream (and before the first byte) release their file handles", async () => {
    const { key } = await createTenant(h);
    const big = randomBytes(4 * 1024 * 1024);
    expect((await h.request("/v1/artifacts/big.bin", { method: "PUT", key, body: big })).status).toBe(201);
    // Warm up the pool's connections so they do not count as growth.
    for (let i = 0; i < 3; i++) await downloadAndAbort("/v1/artifacts/big.bin", key, 64 * 1024);
    await expect.poll(() => fdsUnder(root)).toBe(0);
    const before = openFds();
    for (let i = 0; i < 40; i++) await downloadAndAbort("/v1/artifacts/big.bin", key, 64 * 1024);
    for (let i = 0; i < 20; i++) await downloadAndAbort("/v1/artifacts/big.bin", key, 1);
    for (let i = 0; i < 20; i++) {
      // Gone while the gateway is still authenticating or reading the record.
      await rawHttp(
        h.url,
        `GET /v1/artifacts/big.bin HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\nrange: bytes=100-\r\n\r\n`,
        { closeAfterMs: i % 5 },
      );
    }
    await expect.poll(() => fdsUnder(root)).toBe(0);
    await expect.poll(() => h.gateway.metrics.inFlight).toBe(0);
    // 80 aborted downloads: a leak of one descriptor each would show far above this slack.
    expect(openFds()).toBeLessThan(before + 20);
    const again = await fetch(`${h.url}/v1/artifacts/big.bin`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(sha256(new Uint8Array(await again.arrayBuffer()))).toBe(sha256(big));
  });

  it("a DELETE during a download lets the download finish whole; later reads are 404", async () => {
    const { key } = await createTenant(h);
    const big = randomBytes(6 * 1024 * 1024);
    await h.request("/v1/artifacts/del.bin", { method: "PUT", key, body: big });
    const url = new URL(h.url);
    const result = await new Promise<{ status: number; hash: string; deleted: number }>((resolve) => {
      const req = httpRequest(
        {
          host: url.hostname,
          port: url.port,
          path: "/v1/artifacts/del.bin",
          headers: { authorization: `Bearer ${key}` },
        },
        (res) => {
          const hash = createHash("sha256");
          let deleted = 0;
          let asked = false;
          res.on("data", (chunk: Buffer) => {
            hash.update(chunk);
            if (asked) return;
            asked = true;
            res.pause();
            void h.request("/v1/artifacts/del.bin", { method: "DELETE", key }).then((d) => {
              deleted = d.status;
              res.resume();
            });
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, hash: hash.digest("hex"), deleted }));
        },
      );
      req.end();
    });
    expect(result).toEqual({ status: 200, hash: sha256(big), deleted: 204 });
    expectJsonError(await h.request("/v1/artifacts/del.bin", { key }), 404, "not_found");
    await expect.poll(() => fdsUnder(root)).toBe(0);
  });

  it("GET, HEAD and ranged GET while the path is replaced over and over: always one whole version", async () => {
    const { key } = await createTenant(h);
    const versions = Array.from({ length: 4 }, (_, i) => randomBytes(200_000 + i * 50_000));
    const hashes = new Set(versions.map(sha256));
    await h.request("/v1/artifacts/hot.bin", { method: "PUT", key, body: versions[0] });
    let stop = false;
    const writer = (async () => {
      for (let i = 1; !stop; i++) {
        const res = await h.request("/v1/artifacts/hot.bin", { method: "PUT", key, body: versions[i % 4] });
        expect(res.status).toBe(200);
      }
    })();
    try {
      for (let i = 0; i < 60; i++) {
        const res = await fetch(`${h.url}/v1/artifacts/hot.bin`, {
          headers: { authorization: `Bearer ${key}` },
        });
        const bytes = new Uint8Array(await res.arrayBuffer());
        expect(res.status).toBe(200);
        expect(hashes.has(sha256(bytes))).toBe(true);
        expect(res.headers.get("x-cybernetic-sha256")).toBe(sha256(bytes));
        expect(res.headers.get("content-length")).toBe(String(bytes.length));
        const head = await h.request("/v1/artifacts/hot.bin", { method: "HEAD", key });
        expect(head.status).toBe(200);
        const ranged = await h.request("/v1/artifacts/hot.bin", { key, headers: { range: "bytes=210000-" } });
        // The smallest version (200,000 bytes) has no byte 210,000.
        expect([206, 416]).toContain(ranged.status);
      }
    } finally {
      stop = true;
      await writer;
    }
  });
});

describe("artifacts: encoded, long and odd paths", () => {
  it("%2F is a slash, double encoding is decoded once, NFC and NFD are different paths", async () => {
    const { key } = await createTenant(h);
    const put = (path: string, body: string) =>
      rawRequest(h.url, {
        method: "PUT",
        path: `/v1/artifacts/${path}`,
        headers: { authorization: `Bearer ${key}`, "content-length": String(Buffer.byteLength(body)) },
        chunks: [body],
      });
    expect((await put("a%2Fb.txt", "slash")).body.path).toBe("a/b.txt");
    expect((await h.request("/v1/artifacts/a/b.txt", { key })).text).toBe("slash");
    const double = await put("a/%252e%252e/x", "literal");
    expect([double.status, double.body.path]).toEqual([201, "a/%2e%2e/x"]);
    expect((await put("caf%C3%A9", "nfc")).status).toBe(201);
    expect((await put("cafe%CC%81", "nfd")).status).toBe(201);
    expect((await h.request("/v1/artifacts/caf%C3%A9", { key })).text).toBe("nfc");
    expect((await h.request("/v1/artifacts/cafe%CC%81", { key })).text).toBe("nfd");
    for (const bad of ["%EF%BB%BFa", "a/b%00", "a%E2%80%AEb", "%ED%A0%80", "x".repeat(1025)]) {
      expectJsonError(await put(bad, "x"), 400, "validation_failed");
      expectJsonError(await h.request(`/v1/artifacts/${bad}`, { key }), 400, "validation_failed");
    }
  });

  it("%2e%2e segments are resolved by the URL, never by storage; a huge path is a JSON 431", async () => {
    const { key } = await createTenant(h);
    const escaped = await h.request("/v1/artifacts/a/%2e%2e/%2e%2e/%2e%2e/etc/passwd", { key });
    expectJsonError(escaped, 404, "not_found");
    expect((await filesUnder(root)).filter((f) => f.includes("passwd"))).toEqual([]);
    const huge = await rawHttp(
      h.url,
      `GET /v1/artifacts/${"x".repeat(20_000)} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\nconnection: close\r\n\r\n`,
    );
    expectRawJsonError(huge, 431);
  });
});

describe("artifacts: concurrent writers to one path", () => {
  it("50 parallel PUTs of different sizes leave one whole object and one row", async () => {
    const { key } = await createTenant(h);
    const bodies = Array.from({ length: 50 }, (_, i) => randomBytes(1000 + i * 997));
    const results = await Promise.all(
      bodies.map((body) => h.request("/v1/artifacts/same/path.bin", { method: "PUT", key, body })),
    );
    for (const res of results) expect([200, 201]).toContain(res.status);
    const res = await fetch(`${h.url}/v1/artifacts/same/path.bin`, {
      headers: { authorization: `Bearer ${key}` },
    });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const writer = bodies.findIndex((b) => sha256(b) === sha256(bytes));
    expect(writer).toBeGreaterThanOrEqual(0);
    expect(res.headers.get("content-length")).toBe(String(bodies[writer]?.length));
    expect(res.headers.get("x-cybernetic-sha256")).toBe(sha256(bytes));
    const list = await h.request("/v1/artifacts?prefix=same/", { key });
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ size: bytes.length, sha256: sha256(bytes) });
  });

  it("parallel first PUTs to a path leave no orphaned blob in storage", async () => {
    const { key, tenant } = await createTenant(h);
    const blobs = () => filesUnder(join(root, "objects", "tenants", tenant.id));
    for (let round = 0; round < 5; round++) {
      const bodies = Array.from({ length: 20 }, (_, i) => randomBytes(100 + i));
      await Promise.all(
        bodies.map((body) => h.request(`/v1/artifacts/p${round}.bin`, { method: "PUT", key, body })),
      );
    }
    const rows = (await h.request("/v1/artifacts", { key })).body.items.length;
    expect(rows).toBe(5);
    // One blob per row: every replaced blob is removed (core's put, SELECT … FOR UPDATE on a missing row).
    expect((await blobs()).length).toBe(rows);
  });
});

describe("JSON bodies", () => {
  let key = "";
  beforeAll(async () => {
    key = (await createTenant(h)).key;
  });
  const send = (
    method: string,
    path: string,
    body: string | Buffer,
    headers: Record<string, string> = json,
  ) =>
    rawRequest(h.url, {
      method,
      path,
      headers: {
        authorization: `Bearer ${key}`,
        "content-length": String(Buffer.byteLength(body)),
        ...headers,
      },
      chunks: [body],
    });

  it("100k levels of nesting are a 400, parsed or not", async () => {
    expectJsonError(await send("POST", "/v1/episodes", "[".repeat(100_000)), 400, "invalid_json");
    expectJsonError(
      await send("POST", "/v1/episodes", "[".repeat(100_000) + "]".repeat(100_000)),
      400,
      "validation_failed",
    );
    expectJsonError(
      await send(
        "PUT",
        "/v1/systems/1",
        `{"state":{"a":${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}},"version":1}`,
      ),
      400,
      "validation_failed",
    );
  });

  it("__proto__ and constructor keys never pollute a prototype and never answer 5xx", async () => {
    const before = Object.getOwnPropertyNames(Object.prototype).sort();
    const bodies: [string, string, string][] = [
      ["POST", "/v1/episodes", '{"title":"x","__proto__":{"title":"y","polluted":1}}'],
      ["POST", "/v1/episodes", '{"title":"x","constructor":{"prototype":{"polluted":1}}}'],
      ["PUT", "/v1/systems/2", '{"state":{"constructor":{"prototype":{"polluted":1}}},"version":1}'],
      [
        "POST",
        "/v1/policies",
        '{"name":"p","rules":{"__proto__":{"if":true},"on":["*"],"then":[{"type":"algedonic","severity":"pain","message":"x"}]}}',
      ],
      [
        "POST",
        "/v1/policies",
        '{"name":"q","rules":{"on":["*"],"if":{"__proto__":[1]},"then":[{"type":"algedonic","severity":"pain","message":"x"}]}}',
      ],
    ];
    for (const [method, path, body] of bodies) {
      const res = await send(method, path, body);
      expect(res.status, `${path} ${body} → ${res.text}`).toBeLessThan(500);
    }
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).if).toBeUndefined();
    // Strict objects name the key they refuse.
    const episode = await send("POST", "/v1/episodes", '{"title":"x","__proto__":{}}');
    expectJsonError(episode, 400, "validation_failed");
    expect(episode.body.error.message).toContain("__proto__");
  });

  it("a __proto__ member of a system state is kept or refused, not silently dropped", async () => {
    const current = await h.request("/v1/systems/3", { key });
    const res = await send(
      "PUT",
      "/v1/systems/3",
      `{"state":{"__proto__":{"x":1},"a":1},"version":${current.body.version}}`,
    );
    const stored = await h.request("/v1/systems/3", { key });
    expect(res.status === 400 || Object.keys(stored.body.state).includes("__proto__"), res.text).toBe(true);
  });

  it("a __proto__ member of a set_state patch is kept or refused, not silently dropped", async () => {
    const res = await send(
      "POST",
      "/v1/policies",
      '{"name":"patch proto","rules":{"on":["*"],"then":[{"type":"set_state","system":3,"patch":{"__proto__":{"x":1}}}]}}',
    );
    expect(
      res.status === 400 || Object.keys(res.body?.rules?.then?.[0]?.patch ?? {}).includes("__proto__"),
      res.text,
    ).toBe(true);
  });

  it("an x-cybernetic-meta-__proto__ header is refused (metadata names are [a-z0-9]…), not dropped", async () => {
    const res = await rawRequest(h.url, {
      method: "PUT",
      path: "/v1/artifacts/meta.bin",
      headers: { authorization: `Bearer ${key}`, "content-length": "3", "x-cybernetic-meta-__proto__": "x" },
      chunks: ["abc"],
    });
    expectJsonError(res, 400, "validation_failed");
  });

  it("huge numbers and wrong top-level types are 400s", async () => {
    for (const [method, path, body] of [
      ["PUT", "/v1/systems/4", '{"state":{},"version":1e400}'],
      ["PUT", "/v1/systems/4", '{"state":{"n":1e400},"version":1}'],
      ["PUT", "/v1/systems/4", '{"state":{},"version":9007199254740993}'],
      ["PUT", "/v1/systems/4", '{"state":{},"version":-0}'],
      ["POST", "/v1/episodes", "42"],
      ["POST", "/v1/episodes", '"x"'],
      ["PUT", "/v1/systems/4", "true"],
      ["POST", "/v1/policies", "[]"],
      ["POST", "/v1/policies/00000000-0000-0000-0000-000000000000/evaluate", "[]"],
      ["POST", "/v1/episodes", "   \n "],
      ["POST", "/v1/episodes", '\ufeff{"title":"bom"}'],
    ]) {
      const res = await send(method as string, path as string, body as string);
      expect(res.status, `${body} → ${res.text}`).toBe(400);
      expect(["validation_failed", "invalid_json"]).toContain(res.body?.error?.code);
    }
  });

  it("a lone surrogate in a JSON (jsonb) field is a 400", async () => {
    expectJsonError(await send("PUT", "/v1/systems/5", '{"state":{"k":"\\ud800"},"version":1}'), 400);
    expectJsonError(await send("PUT", "/v1/systems/5", '{"state":{"\\udc00":1},"version":1}'), 400);
  });

  it("a lone surrogate in a text field is a 400, not silently stored as U+FFFD", async () => {
    expectJsonError(await send("POST", "/v1/episodes", '{"title":"a\\ud800b"}'), 400, "validation_failed");
  });

  it("invalid UTF-8 in a JSON body is a 400, not silently replaced by U+FFFD", async () => {
    const body = Buffer.concat([Buffer.from('{"title":"caf'), Buffer.from([0xe9]), Buffer.from('"}')]);
    const res = await send("POST", "/v1/episodes", body);
    expect(res.status, res.text).toBe(400);
    expect(["invalid_json", "validation_failed"]).toContain(res.body?.error?.code);
  });

  it("a JSON body declared in another charset is refused, not decoded as UTF-8", async () => {
    const body = Buffer.concat([Buffer.from('{"title":"caf'), Buffer.from([0xe9]), Buffer.from('!"}')]);
    const res = await send("POST", "/v1/episodes", body, {
      "content-type": "application/json; charset=latin1",
    });
    expect([400, 415], res.text).toContain(res.status);
    expect(res.body?.error?.code).toBeTypeOf("string");
  });

  it("a body on GET or DELETE is ignored, even when it is not JSON", async () => {
    const get = await send("GET", "/v1/episodes", '{"x":');
    expect(get.status).toBe(200);
    const del = await send("DELETE", "/v1/policies/00000000-0000-0000-0000-000000000000", '{"x":');
    expectJsonError(del, 404, "not_found");
  });
});

describe("query strings", () => {
  const b64 = (text: string) => Buffer.from(text).toString("base64url");
  const uuid = "00000000-0000-0000-0000-000000000000";
  const cases: [string, number, string | undefined][] = [
    ["/v1/episodes?limit=1&limit=2", 400, "validation_failed"],
    ["/v1/episodes?limit[]=1", 400, "validation_failed"],
    ["/v1/episodes?limit=1e3", 400, "validation_failed"],
    ["/v1/episodes?limit=-0", 400, "validation_failed"],
    ["/v1/episodes?limit=", 400, "validation_failed"],
    ["/v1/episodes?limit=Infinity", 400, "validation_failed"],
    ["/v1/episodes?limit=99999999999999999999999", 400, "validation_failed"],
    ["/v1/episodes?limit=%205", 200, undefined],
    ["/v1/episodes?__proto__=1", 400, "validation_failed"],
    ["/v1/episodes?constructor=1&toString=1", 400, "validation_failed"],
    ["/v1/episodes?status=pending&status=failed", 400, "validation_failed"],
    ["/v1/episodes?tag=%00", 400, "validation_failed"],
    [`/v1/episodes?cursor=${b64('{"__proto__":1}')}`, 400, "invalid_cursor"],
    [`/v1/episodes?cursor=${b64("[".repeat(300))}`, 400, "invalid_cursor"],
    [`/v1/episodes?cursor=${b64(`["0000-01-01T00:00:00Z","${uuid}"]`)}`, 400, "invalid_cursor"],
    [`/v1/episodes?cursor=${b64(`["2024-02-30T00:00:00Z","${uuid}"]`)}`, 400, "invalid_cursor"],
    [`/v1/episodes?cursor=${b64(`["9999-12-31T23:59:59.999999Z","${uuid}"]`)}`, 200, undefined],
    [`/v1/episodes?cursor=${"A".repeat(501)}`, 400, "validation_failed"],
    [`/v1/policies?cursor=${b64(`[2147483648,"2024-01-01T00:00:00Z","${uuid}"]`)}`, 400, "invalid_cursor"],
    [`/v1/policies?cursor=${b64(`[1e400,"2024-01-01T00:00:00Z","${uuid}"]`)}`, 400, "invalid_cursor"],
    ["/v1/policies?active=true&active=false", 400, "validation_failed"],
    [`/v1/systems/1/history?cursor=${b64("[-2147483649]")}`, 400, "invalid_cursor"],
    [`/v1/artifacts?cursor=${b64('["\\u0000"]')}`, 400, "validation_failed"],
    [`/v1/artifacts?cursor=${b64(`["${"x".repeat(3000)}"]`)}`, 400, undefined],
    ["/v1/artifacts?prefix=%00", 400, "validation_failed"],
    ["/v1/artifacts?prefix=a&prefix=b", 400, "validation_failed"],
    [`/v1/artifacts?prefix=${"a".repeat(1025)}`, 400, "validation_failed"],
    ["/v1/artifacts?limit=1e3", 200, undefined],
    [`/v1/episodes?tag=${"x".repeat(12_000)}`, 400, "validation_failed"],
    [`/v1/episodes?${Array.from({ length: 2000 }, (_, i) => `a${i}=1`).join("&")}`, 400, "validation_failed"],
  ];
  let key = "";
  beforeAll(async () => {
    key = (await createTenant(h)).key;
  });

  const labelled = cases.map(([path, status, code]) => ({
    path,
    status,
    code,
    label: path.length > 80 ? `${path.slice(0, 70)}… (${path.length} chars)` : path,
  }));

  it.each(labelled)("$label → $status", async ({ path, status, code }) => {
    const res = await h.request(path, { key });
    if (status === 200) expect(res.status, res.text).toBe(200);
    else expectJsonError(res, status, code);
  });

  it("a tenants cursor holding a NUL is a 400, not a database 500", async () => {
    expectJsonError(await h.request(`/v1/tenants?cursor=${b64('["\\u0000"]')}`, { key: ADMIN_KEY }), 400);
  });

  it("a 60 kB query string is a JSON 431", async () => {
    const res = await rawHttp(
      h.url,
      `GET /v1/episodes?tag=${"x".repeat(60_000)} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${key}\r\nconnection: close\r\n\r\n`,
    );
    expectRawJsonError(res, 431);
  });
});

describe("concurrent writes", () => {
  const rules = { on: ["*"], then: [{ type: "algedonic", severity: "pain", message: "x" }] };

  it("20 parallel system-state updates with one version: exactly one wins, the rest 409", async () => {
    const { key } = await createTenant(h);
    const { version } = (await h.request("/v1/systems/2", { key })).body;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        h.request("/v1/systems/2", { method: "PUT", key, body: { state: { writer: i }, version } }),
      ),
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 200)) expectJsonError(r, 409, "version_conflict");
    const now = (await h.request("/v1/systems/2", { key })).body;
    expect(now.version).toBe(version + 1);
    expect(now.state).toEqual(winners[0]?.body.state);
    expect((await h.request("/v1/systems/2/history?limit=100", { key })).body.items).toHaveLength(2);
  });

  it("20 parallel policy creates with one name: one 201, the rest 409 duplicate; renames likewise", async () => {
    const { key } = await createTenant(h);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.request("/v1/policies", { method: "POST", key, body: { name: "same", rules } }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((x) => x.status !== 201)) expectJsonError(r, 409, "duplicate");
    const others = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        h.request("/v1/policies", { method: "POST", key, body: { name: `n${i}`, rules } }),
      ),
    );
    const renames = await Promise.all(
      others.map((p) =>
        h.request(`/v1/policies/${p.body.id}`, { method: "PATCH", key, body: { name: "target" } }),
      ),
    );
    expect(renames.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of renames.filter((x) => x.status !== 200)) expectJsonError(r, 409, "duplicate");
    expect((await h.request("/v1/policies?limit=100", { key })).body.items).toHaveLength(11);
  });

  it("20 parallel ingests of one (source, sourceId): one episode, one 201", async () => {
    const { key } = await createTenant(h);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.request("/v1/episodes", {
          method: "POST",
          key,
          body: { title: "dup", source: "tg", sourceId: "42" },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(19);
    expect(new Set(results.map((r) => r.body.episode.id)).size).toBe(1);
  });
});

describe("headers", () => {
  let key = "";
  beforeAll(async () => {
    key = (await createTenant(h)).key;
  });

  it("a 1 MB Authorization header is a JSON 431; a 15 kB key is a JSON 401", async () => {
    const huge = await rawHttp(
      h.url,
      `GET /v1/episodes HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${"a".repeat(1024 * 1024)}\r\nconnection: close\r\n\r\n`,
    );
    expectRawJsonError(huge, 431);
    const long = await rawHttp(
      h.url,
      `GET /v1/episodes HTTP/1.1\r\nhost: x\r\nx-api-key: cyb_${"a".repeat(15_000)}\r\nconnection: close\r\n\r\n`,
    );
    expectRawJsonError(long, 401);
  });

  it("x-request-id with a bare CR is a JSON 400; 10k characters are replaced by a generated id", async () => {
    expectRawJsonError(
      await rawHttp(
        h.url,
        "GET /health HTTP/1.1\r\nhost: x\r\nx-request-id: a\rb\r\nconnection: close\r\n\r\n",
      ),
      400,
    );
    const long = "a".repeat(10_000);
    const res = await h.request("/v1/nothing", { headers: { "x-request-id": long } });
    expectJsonError(res, 404, "not_found");
    expect(res.headers.get("x-request-id")).not.toBe(long);
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("accept-encoding oddities get plain JSON", async () => {
    for (const value of ["gzip", "br;q=1000", "*;q=0", "identity;q=0", "x".repeat(8000)]) {
      const res = await h.request("/v1/episodes", { key, headers: { "accept-encoding": value } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-encoding")).toBeNull();
      expect(res.body.items).toEqual([]);
    }
  });

  it("CORS: a disallowed, null, case-changed or huge Origin gets no allow-origin", async () => {
    for (const origin of [
      "https://evil.example.com",
      "null",
      "HTTPS://APP.EXAMPLE.COM",
      "x".repeat(10_000),
    ]) {
      const res = await h.request("/v1/episodes", { key, headers: { origin } });
      expect(res.status).toBe(200);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      expect(res.headers.get("vary")).toBe("origin");
      const preflight = await h.request("/v1/episodes", {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST" },
      });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
    }
    const allowed = await h.request("/v1/episodes", { key, headers: { origin: ORIGIN } });
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ORIGIN);
  });

  it("a CORS preflight from an allowed origin carries exactly one access-control-allow-origin", async () => {
    const res = await rawHttp(
      h.url,
      `OPTIONS /v1/episodes HTTP/1.1\r\nhost: x\r\norigin: ${ORIGIN}\r\naccess-control-request-method: POST\r\n` +
        "access-control-request-headers: authorization, content-type\r\nconnection: close\r\n\r\n",
    );
    expect(res.status).toBe(204);
    // Browsers reject a preflight whose allow-origin has several values, so every CORS call fails.
    expect(res.headers.get("access-control-allow-origin")).toEqual([ORIGIN]);
    expect(res.headers.get("vary")).toEqual(["origin"]);
  });

  it("an HTTP/1.1 request without Host gets a JSON error with a request id", async () => {
    const res = await rawHttp(h.url, "GET /health HTTP/1.1\r\nconnection: close\r\n\r\n");
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get("x-request-id")?.[0], `${res.status} ${JSON.stringify(res.text)}`).toBeTypeOf(
      "string",
    );
    expect(res.body, `${res.status} ${JSON.stringify(res.text)}`).toBeTypeOf("object");
  });

  it("an unsupported Expect header gets a JSON error with a request id", async () => {
    const body = '{"title":"x"}';
    const res = await rawHttp(
      h.url,
      `POST /v1/episodes HTTP/1.1\r\nhost: x\r\nexpect: something-else\r\nauthorization: Bearer ${key}\r\n` +
        `content-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
    );
    expect(res.status).toBeLessThan(500);
    expect(res.headers.get("x-request-id")?.[0], `${res.status} ${JSON.stringify(res.text)}`).toBeTypeOf(
      "string",
    );
    expect(res.body, `${res.status} ${JSON.stringify(res.text)}`).toBeTypeOf("object");
  });
});
