/**
 * Request body limits on a real server: a declared `Content-Length` over the limit is refused from the
 * headers alone; a chunked body is counted as it arrives and cut off as soon as it passes the limit;
 * exactly the limit is accepted; artifact uploads have a limit of their own; a client that goes away in
 * the middle of a JSON body ends its request as a 400 without leaking it. Raw HTTP goes through node:net;
 * in-memory bodies (`app.fetch`, web streams) through the same pipeline.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage } from "@cybernetic/storage";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Body, createTenant, useGateway } from "./helpers/gateway-harness.ts";
import { captureLogs } from "./helpers/log-capture.ts";

const LIMIT = 1024;
// Small enough to be passed before the storage adapter has started reading an upload (Node and the upload
// stream buffer more than this), which is the window where an unguarded stream error would crash.
const ARTIFACT_LIMIT = 4096;

const { logger: capture, lines: logLines } = captureLogs();

let root = "";
const h = useGateway({
  config: { bodyLimitBytes: LIMIT, artifactMaxBytes: ARTIFACT_LIMIT, apiKeyCacheTtlMs: 60_000 },
  gateway: () => ({ logger: capture }),
  storage: async () => {
    root = await mkdtemp(join(tmpdir(), "cyb-gw-body-limit-"));
    return createStorage({ driver: "local", root });
  },
});
let key = "";

beforeAll(async () => {
  key = (await createTenant(h)).key;
  // Warm the API-key cache: authentication then answers at once, so the server is already reading the
  // body when the raw clients below stop sending or go away.
  expect((await h.request("/v1/episodes", { key })).status).toBe(200);
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** A response read off a raw connection. */
interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Body;
  /** The server ended the connection (the client never ends its side). */
  serverClosed: boolean;
}

/**
 * Writes `parts` on a fresh connection and never finishes the request: resolves with the server's
 * response, after waiting for the server to close the connection when `waitForClose`.
 */
function exchange(
  parts: (string | Buffer)[],
  options: { waitForClose?: boolean } = {},
): Promise<RawResponse> {
  const url = new URL(h.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let received = Buffer.alloc(0);
    let response: RawResponse | undefined;
    const done = (closed: boolean) => {
      if (!response) return;
      response.serverClosed = closed;
      socket.destroy();
      resolve(response);
    };
    socket.on("data", (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const end = received.indexOf("\r\n\r\n");
      if (response || end < 0) return;
      const [statusLine = "", ...lines] = received.subarray(0, end).toString("latin1").split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers["content-length"] ?? 0);
      if (received.length < end + 4 + length) return;
      const text = received.subarray(end + 4, end + 4 + length).toString("utf8");
      response = {
        status: Number(statusLine.split(" ")[1]),
        headers,
        body: text ? JSON.parse(text) : undefined,
        serverClosed: false,
      };
      if (!options.waitForClose) done(false);
    });
    socket.on("end", () => done(true));
    socket.on("close", () => {
      if (!response) reject(new Error(`the connection closed without a response: ${received.toString()}`));
    });
    socket.on("error", () => {});
    for (const part of parts) socket.write(part);
  });
}

const head = (method: string, path: string, headers: Record<string, string>) =>
  `${method} ${path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${key}\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")}\r\n`;

/** One HTTP/1.1 chunk. */
const chunk = (data: string | Buffer) => {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  return Buffer.concat([Buffer.from(`${bytes.length.toString(16)}\r\n`), bytes, Buffer.from("\r\n")]);
};

const expectJsonError = (res: { body: Body }, requestId: string | null) => {
  expect(typeof res.body.error.message).toBe("string");
  expect(res.body.requestId).toBe(requestId);
};

const titles = async () =>
  ((await h.request("/v1/episodes?limit=100", { key })).body.items as { title: string }[]).map(
    (e) => e.title,
  );

describe("a declared Content-Length", () => {
  it("is accepted at exactly the limit; one byte more is refused from the headers alone", async () => {
    const open = '{"title":"exactly the limit"';
    const exact = `${open}${" ".repeat(LIMIT - open.length - 1)}}`;
    expect(Buffer.byteLength(exact)).toBe(LIMIT);
    const accepted = await h.request("/v1/episodes", {
      method: "POST",
      key,
      body: exact,
      headers: { "content-type": "application/json" },
    });
    expect(accepted.status, accepted.text).toBe(201);
    expect(accepted.body.episode.title).toBe("exactly the limit");

    // Only the headers are sent: the 413 cannot have waited for the body.
    const refused = await exchange(
      [
        head("POST", "/v1/episodes", {
          "content-type": "application/json",
          "content-length": `${LIMIT + 1}`,
        }),
      ],
      { waitForClose: true },
    );
    expect(refused.status).toBe(413);
    expect(refused.body.error).toEqual({
      code: "payload_too_large",
      message: `the request body exceeds the limit of ${LIMIT} bytes (${LIMIT + 1} declared)`,
      details: { limitBytes: LIMIT },
    });
    expectJsonError(refused, refused.headers["x-request-id"] ?? null);
    expect(refused.headers.connection).toBe("close");
    expect(refused.serverClosed).toBe(true);
  });

  it("too long to be a byte count is a 400 naming the header", async () => {
    const res = await exchange([
      head("POST", "/v1/episodes", { "content-type": "application/json", "content-length": "1".repeat(17) }),
    ]);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.issues).toEqual([
      { path: "content-length", message: "must be a non-negative integer" },
    ]);
    expectJsonError(res, res.headers["x-request-id"] ?? null);
  });

  it("in memory (app.fetch): a value that is not a byte count is a 400 naming the header; one over the limit is a 413", async () => {
    const post = (contentLength: string) =>
      h.gateway.app.fetch(
        new Request("http://local/v1/episodes", {
          method: "POST",
          headers: {
            authorization: `Bearer ${key}`,
            "content-type": "application/json",
            "content-length": contentLength,
          },
          body: '{"title":"in memory"}',
        }),
      );
    for (const bad of ["abc", "-1", "1.5", "1e3", "0x10", "+5", "12345678901234567"]) {
      const res = await post(bad);
      const body = (await res.json()) as Body;
      expect(res.status, bad).toBe(400);
      expect(body.error.code, bad).toBe("validation_failed");
      expect(body.error.details.issues[0].path, bad).toBe("content-length");
      expectJsonError({ body }, res.headers.get("x-request-id"));
    }
    const over = await post(String(LIMIT * 10));
    expect(over.status).toBe(413);
    expect(((await over.json()) as Body).error.message).toContain(`(${LIMIT * 10} declared)`);
    expect(await titles()).not.toContain("in memory");
  });

  it("in memory (app.fetch): a declared length with no body is a 400 asking for one", async () => {
    const res = await h.gateway.app.fetch(
      new Request("http://local/v1/episodes", {
        method: "POST",
        headers: {
          authorization: `Bearer ${key}`,
          "content-type": "application/json",
          "content-length": "5",
        },
      }),
    );
    expect(res.status).toBe(400);
    const body = (await res.json()) as Body;
    expect(body.error).toMatchObject({
      code: "validation_failed",
      message: "a JSON request body is required",
    });
  });
});

describe("a request Node's HTTP parser rejects", () => {
  it.each([
    { name: "a Content-Length that is not a number", extra: "content-length: abc\r\n", status: 400 },
    {
      name: "two different Content-Lengths",
      extra: "content-length: 1\r\ncontent-length: 2\r\n",
      status: 400,
    },
    {
      name: "both Content-Length and Transfer-Encoding",
      extra: "content-length: 5\r\ntransfer-encoding: chunked\r\n",
      status: 400,
    },
    { name: "headers over Node's limit", extra: `x-filler: ${"a".repeat(20 * 1024)}\r\n`, status: 431 },
  ])("$name: a JSON error with a request id, and the connection is closed", async ({ extra, status }) => {
    const res = await exchange([`POST /v1/episodes HTTP/1.1\r\nhost: localhost\r\n${extra}\r\n`], {
      waitForClose: true,
    });
    expect(res.status).toBe(status);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers.connection).toBe("close");
    expect(res.body.error.code).toBe("validation_failed");
    expect(res.body.error.details.reason).toMatch(/^hpe_[a-z_]+$/);
    expectJsonError(res, res.headers["x-request-id"] ?? null);
    expect(res.serverClosed).toBe(true);
  });
});

describe("a chunked body", () => {
  it("is accepted at exactly the limit, reassembled even where a chunk boundary splits a character", async () => {
    const e = Buffer.from("é");
    const start = Buffer.concat([Buffer.from('{"title":"caf'), e.subarray(0, 1)]);
    const middle = Buffer.concat([e.subarray(1), Buffer.from('","content":"')]);
    const end = '"}';
    const content = "y".repeat(LIMIT - start.length - middle.length - end.length);
    const res = await exchange([
      head("POST", "/v1/episodes", { "content-type": "application/json", "transfer-encoding": "chunked" }),
      chunk(start),
      chunk(middle),
      chunk(content),
      chunk(end),
      "0\r\n\r\n",
    ]);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.episode.title).toBe("café");
    expect(res.body.episode.content).toBe(content);
  });

  it("is refused with 413 as soon as it passes the limit, without waiting for the rest, and the connection is closed", async () => {
    // The terminating chunk is never sent: only counting as the bytes arrive can answer this request.
    const res = await exchange(
      [
        head("POST", "/v1/episodes", { "content-type": "application/json", "transfer-encoding": "chunked" }),
        chunk('{"title":"never stored","content":"'),
        ...Array.from({ length: 4 }, () => chunk("y".repeat(LIMIT / 4))),
      ],
      { waitForClose: true },
    );
    expect(res.status).toBe(413);
    expect(res.body.error).toEqual({
      code: "payload_too_large",
      message: `the request body exceeds the limit of ${LIMIT} bytes`,
      details: { limitBytes: LIMIT },
    });
    expectJsonError(res, res.headers["x-request-id"] ?? null);
    expect(res.headers.connection).toBe("close");
    expect(res.serverClosed).toBe(true);
    expect(await titles()).not.toContain("never stored");
  });

  it("in memory (app.fetch): a streamed body within the limit is read whole; an endless one is cut off at the limit and cancelled", async () => {
    const encoder = new TextEncoder();
    const post = (body: ReadableStream<Uint8Array>) =>
      h.gateway.app.fetch(
        new Request("http://local/v1/episodes", {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
          body,
          duplex: "half",
        } as RequestInit),
      );
    const parts = ['{"title":"streamed",', '"content":"', "z".repeat(300), '"}'];
    const whole = await post(
      new ReadableStream({
        start(controller) {
          for (const part of parts) controller.enqueue(encoder.encode(part));
          controller.close();
        },
      }),
    );
    expect(whole.status).toBe(201);
    expect(((await whole.json()) as Body).episode).toMatchObject({
      title: "streamed",
      content: "z".repeat(300),
    });

    let pulled = 0;
    let cancelled = false;
    const endless = await post(
      new ReadableStream({
        start(controller) {
          controller.enqueue(encoder.encode('{"title":"endless","content":"'));
        },
        pull(controller) {
          pulled += 256;
          controller.enqueue(encoder.encode("z".repeat(256)));
        },
        cancel() {
          cancelled = true;
        },
      }),
    );
    expect(endless.status).toBe(413);
    const body = (await endless.json()) as Body;
    expect(body.error).toMatchObject({ code: "payload_too_large", details: { limitBytes: LIMIT } });
    expectJsonError({ body }, endless.headers.get("x-request-id"));
    expect(cancelled).toBe(true);
    expect(pulled).toBeLessThan(LIMIT * 4);
  });
});

describe("artifact uploads", () => {
  it("are held to the artifact limit, not the JSON one: declared or streamed past it, refused and nothing stored", async () => {
    const between = Buffer.alloc(3000, 1);
    const stored = await h.request("/v1/artifacts/limits/between.bin", { method: "PUT", key, body: between });
    expect(stored.status, stored.text).toBe(201);
    expect(stored.body.size).toBe(between.length);
    const json = await h.request("/v1/episodes", {
      method: "POST",
      key,
      body: { title: "too big for JSON", content: "x".repeat(between.length) },
    });
    expect(json.status).toBe(413);
    expect(json.body.error.details).toEqual({ limitBytes: LIMIT });

    const declared = await exchange(
      [head("PUT", "/v1/artifacts/limits/over.bin", { "content-length": `${ARTIFACT_LIMIT + 1}` })],
      { waitForClose: true },
    );
    expect(declared.status).toBe(413);
    expect(declared.body.error.message).toBe(
      `the request body exceeds the limit of ${ARTIFACT_LIMIT} bytes (${ARTIFACT_LIMIT + 1} declared)`,
    );
    expect(declared.serverClosed).toBe(true);

    const streamed = await exchange(
      [
        head("PUT", "/v1/artifacts/limits/over.bin", { "transfer-encoding": "chunked" }),
        ...Array.from({ length: 5 }, () => chunk(Buffer.alloc(ARTIFACT_LIMIT / 4, 2))),
      ],
      { waitForClose: true },
    );
    expect(streamed.status).toBe(413);
    expect(streamed.body.error).toEqual({
      code: "payload_too_large",
      message: `the request body exceeds the limit of ${ARTIFACT_LIMIT} bytes`,
      details: { limitBytes: ARTIFACT_LIMIT },
    });
    expect(streamed.serverClosed).toBe(true);
    expect((await h.request("/v1/artifacts/limits/over.bin", { key })).status).toBe(404);
    expect((await h.request("/v1/artifacts?prefix=limits/", { key })).body.items).toHaveLength(1);
  });
});

describe("a client still sending its body after the 413", () => {
  /**
   * Sends `first`, reads the whole 413, then goes on sending `more` bytes of body, as an HTTP client
   * streaming an upload does until it has read the answer. Resolves with what the connection did.
   */
  const keepSending = (first: (string | Buffer)[], more: (i: number) => Buffer, pieces: number) => {
    const url = new URL(h.url);
    return new Promise<{ status: number; serverEnded: boolean; error: string | null; hadError: boolean }>(
      (resolve) => {
        const socket = connect(Number(url.port), url.hostname);
        let received = Buffer.alloc(0);
        let status = 0;
        let serverEnded = false;
        let error: string | null = null;
        socket.on("data", async (data: Buffer) => {
          received = Buffer.concat([received, data]);
          const end = received.indexOf("\r\n\r\n");
          const length = Number(/content-length: (\d+)/i.exec(received.toString("latin1"))?.[1] ?? -1);
          if (status !== 0 || end < 0 || length < 0 || received.length < end + 4 + length) return;
          status = Number(received.toString("latin1").split(" ")[1]);
          // The answer is in: keep sending, each piece after the previous one left the process.
          for (let i = 0; i < pieces && !socket.destroyed; i++) {
            await new Promise<void>((written) => socket.write(more(i), () => written()));
          }
          setTimeout(() => socket.end(), 50);
        });
        socket.on("end", () => {
          serverEnded = true;
        });
        socket.on("error", (e: NodeJS.ErrnoException) => {
          error = e.code ?? e.message;
        });
        socket.on("close", (hadError) => resolve({ status, serverEnded, error, hadError }));
        for (const part of first) socket.write(part);
      },
    );
  };
  const piece = Buffer.alloc(64 * 1024, "y");

  it.each([
    {
      name: "a declared Content-Length over the limit",
      first: () => [
        head("POST", "/v1/episodes", { "content-type": "application/json", "content-length": "16000000" }),
      ],
      more: () => piece,
    },
    {
      name: "a chunked JSON body that passed the limit",
      first: () => [
        head("POST", "/v1/episodes", { "content-type": "application/json", "transfer-encoding": "chunked" }),
        chunk('{"title":"x","content":"'),
        chunk("y".repeat(LIMIT)),
      ],
      more: () => chunk(piece),
    },
    {
      name: "a chunked upload that passed the artifact limit",
      first: () => [
        head("PUT", "/v1/artifacts/limits/still-sending.bin", { "transfer-encoding": "chunked" }),
        chunk(Buffer.alloc(ARTIFACT_LIMIT * 2, 1)),
      ],
      more: () => chunk(piece),
    },
  ])("$name: gets its answer and a clean close, never a reset", async ({ first, more }) => {
    const outcome = await keepSending(first(), more, 16);
    expect(outcome).toEqual({ status: 413, serverEnded: true, error: null, hadError: false });
  });
});

describe("a client that goes away in the middle of an upload", () => {
  it("again and again, leaves the server up, every request finished and nothing stored", async () => {
    const url = new URL(h.url);
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((resolve) => {
        const socket = connect(Number(url.port), url.hostname);
        socket.on("error", () => {});
        socket.on("close", () => resolve());
        socket.write(head("PUT", `/v1/artifacts/gone/${i}.bin`, { "content-length": "3000" }));
        socket.write(Buffer.alloc(1000, 1), () => socket.destroy());
      });
    }
    await expect.poll(() => h.gateway.metrics.inFlight).toBe(0);
    expect((await h.request("/health")).status).toBe(200);
    expect((await h.request("/v1/artifacts?prefix=gone/", { key })).body.items).toEqual([]);
  });
});

describe("a client that goes away in the middle of a JSON body", () => {
  const cases = [
    {
      name: "a Content-Length longer than what was sent, then a disconnect",
      headers: { "content-length": "200" },
      parts: ['{"title":"cut short"'],
      leave: "destroy",
    },
    {
      name: "a Content-Length longer than what was sent, then a half-close",
      headers: { "content-length": "200" },
      parts: ['{"title":"cut short"'],
      leave: "end",
    },
    {
      name: "a chunked body before its last chunk, then a disconnect",
      headers: { "transfer-encoding": "chunked" },
      parts: [chunk('{"title":"cut short"')],
      leave: "destroy",
    },
  ] as const;

  it.each(cases)("$name: the request ends as a 400, frees its slot and stores nothing", async (c) => {
    const requestId = `gone-${cases.indexOf(c)}`;
    const url = new URL(h.url);
    const status = await new Promise<string>((resolve) => {
      const socket = connect(Number(url.port), url.hostname);
      let received = "";
      socket.on("data", (data: Buffer) => {
        received += data.toString("latin1");
      });
      socket.on("close", () => resolve(received.split("\r\n")[0] ?? ""));
      socket.on("error", () => {});
      socket.write(
        head("POST", "/v1/episodes", {
          ...c.headers,
          "content-type": "application/json",
          "x-request-id": requestId,
        }),
      );
      for (const part of c.parts) socket.write(part);
      socket.write("", () => (c.leave === "end" ? socket.end() : socket.destroy()));
    });
    // Whatever reaches a client that stayed to listen is a 4xx, never a 5xx.
    if (status !== "") expect(status).toMatch(/^HTTP\/1\.1 4\d\d /);

    await expect.poll(() => logLines.find((l) => l.requestId === requestId)?.status).toBe(400);
    await expect.poll(() => h.gateway.metrics.inFlight).toBe(0);
    expect(logLines.some((l) => l.requestId === requestId && l.msg === "unhandled error")).toBe(false);
    expect(await titles()).not.toContain("cut short");
  });
});
