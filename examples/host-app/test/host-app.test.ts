/**
 * The host app as its users meet it: the real program (`src/main.ts`, run by tsx like `pnpm start`) in
 * a child process on this file's own PostgreSQL database, driven over real HTTP. Its users post notes
 * that the in-process workers analyse, upload and download files, send bad input, try to read another
 * organisation's notes, and finally SIGTERM arrives while an upload and an analysis are in flight.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { type ClientRequest, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHeuristicAnalyzer } from "@cybernetic/workers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt } from "../../../packages/gateway/test/helpers/run-cli.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { until } from "../../../test/support/until.ts";

const EXAMPLE_DIR = fileURLToPath(new URL("..", import.meta.url));
const FILE_MAX_BYTES = 4 * 1024 * 1024;
/** Short, so the upload that never finishes is cut within the test's budget. */
const SHUTDOWN_TIMEOUT_MS = 3_000;

const TOKENS = { alice: "alice-token", carol: "carol-token", bob: "bob-token" } as const;
type Who = keyof typeof TOKENS;

interface LogLine {
  level: string;
  msg?: string;
  [field: string]: unknown;
}

/** The app, started the way a user starts it. */
interface RunningApp {
  child: ChildProcess;
  url: string;
  logs: LogLine[];
  exited: Promise<number | null>;
  waitForLog(msg: string, timeoutMs?: number): Promise<LogLine>;
}

const ctx = useTestPlatform();
let root = "";
const running: RunningApp[] = [];

async function startApp(): Promise<RunningApp> {
  const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: EXAMPLE_DIR,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      ...ctx.database.env,
      DATABASE_OWNER_URL: ctx.database.ownerUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      STORAGE_LOCAL_ROOT: root,
      ARTIFACT_MAX_BYTES: String(FILE_MAX_BYTES),
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
      LOG_LEVEL: "info",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: LogLine[] = [];
  let stderr = "";
  let partial = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") logs.push(JSON.parse(line) as LogLine);
  });
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const waitForLog = (msg: string, timeoutMs = 60_000) =>
    until(
      () => {
        if (child.exitCode !== null && !logs.some((l) => l.msg === msg))
          throw new Error(`the app exited (${child.exitCode}) before "${msg}"; stderr:\n${stderr}`);
        return logs.find((l) => l.msg === msg);
      },
      `log "${msg}"; stderr:\n${stderr}`,
      timeoutMs,
    );
  const app: RunningApp = { child, url: "", logs, exited, waitForLog };
  running.push(app);
  app.url = String((await waitForLog("listening")).url);
  return app;
}

/** Sends `init` as one of the demo users. */
function as(who: Who | undefined, url: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (who) headers.set("authorization", `Bearer ${TOKENS[who]}`);
  return fetch(url, { ...init, headers });
}

const postNote = (app: RunningApp, who: Who, body: unknown, headers: Record<string, string> = {}) =>
  as(who, `${app.url}/notes`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

/** An upload on a raw request, so the test decides when each part of the body is sent. */
function startUpload(app: RunningApp, name: string, size: number) {
  let req: ClientRequest | undefined;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req = request(
      `${app.url}/files/${name}`,
      {
        method: "PUT",
        headers: {
          authorization: `Bearer ${TOKENS.alice}`,
          "content-type": "application/octet-stream",
          "content-length": size,
        },
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.flushHeaders(); // the head goes out now, before any of the body
  });
  const write = (bytes: Buffer) => new Promise<void>((resolve) => req?.write(bytes, () => resolve()));
  return { response, write, end: () => req?.end() };
}

/** Files the local adapter is still writing (it publishes an upload only once it is whole). */
const tempFiles = async () => (await readdir(join(root, "tmp"))).filter((n) => !n.includes("probe"));

beforeAll(async () => {
  assertBuilt();
  root = await mkdtemp(join(tmpdir(), "cybernetic-host-app-"));
});

afterAll(async () => {
  for (const app of running) if (app.child.exitCode === null) app.child.kill("SIGKILL");
  await Promise.all(running.map((app) => app.exited));
  await rm(root, { recursive: true, force: true });
});

describe("the host app", () => {
  let app: RunningApp;
  let noteId = "";
  const note = {
    title: "Line 3 stopped",
    content: "The packaging line stopped twice tonight; customers are waiting for their orders.",
    tags: ["ops"],
  };

  beforeAll(async () => {
    app = await startApp();
  }, 90_000);

  it("records a user's note in their organisation's tenant, and the in-process workers analyse it", async () => {
    const created = await postNote(app, "alice", note);
    expect(created.status).toBe(201);
    const body = (await created.json()) as { id: string; status: string };
    noteId = body.id;
    expect(created.headers.get("location")).toBe(`/notes/${noteId}`);
    expect(["pending", "analyzing", "complete"]).toContain(body.status);

    const analysed = await until(async () => {
      const res = await as("alice", `${app.url}/notes/${noteId}`);
      const got = (await res.json()) as { status: string; analysis: unknown };
      return got.status === "complete" && got.analysis ? got : undefined;
    }, "the note to be analysed");
    // What S4's analyzer makes of this note, computed here by the same analyzer.
    const expected = await createHeuristicAnalyzer().analyze({ ...note, source: "host-app" });
    expect(analysed.analysis).toEqual(JSON.parse(JSON.stringify(expected)));

    // The tenant was created on first use through core's tenancy service, and the note is its episode.
    const acme = await ctx.platform.tenants.idBySlug("acme");
    const episode = await ctx.platform.episodes.get(acme, noteId);
    expect(episode).toMatchObject({ title: note.title, source: "host-app", status: "complete" });
  });

  it("shares a note with teammates and hides it from other organisations", async () => {
    const carol = await as("carol", `${app.url}/notes/${noteId}`);
    expect(carol.status).toBe(200);
    expect(((await carol.json()) as { title: string }).title).toBe(note.title);

    const bob = await as("bob", `${app.url}/notes/${noteId}`);
    expect(bob.status).toBe(404);
    expect(((await bob.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const bobsList = (await (await as("bob", `${app.url}/notes`)).json()) as { items: { id: string }[] };
    expect(bobsList.items.map((n) => n.id)).not.toContain(noteId);
    const alicesList = (await (await as("alice", `${app.url}/notes`)).json()) as { items: { id: string }[] };
    expect(alicesList.items.map((n) => n.id)).toContain(noteId);
    // Bob's organisation is a tenant of its own.
    expect(await ctx.platform.tenants.idBySlug("globex")).not.toBe(
      await ctx.platform.tenants.idBySlug("acme"),
    );
  });

  it("makes a retried POST with the same Idempotency-Key one note", async () => {
    const key = randomUUID();
    const first = await postNote(app, "alice", { title: "Retried" }, { "idempotency-key": key });
    const again = await postNote(app, "alice", { title: "Retried" }, { "idempotency-key": key });
    expect([first.status, again.status]).toEqual([201, 200]);
    expect(((await again.json()) as { id: string }).id).toBe(((await first.json()) as { id: string }).id);
  });

  it("streams a file to storage and back byte for byte", async () => {
    const bytes = randomBytes(1024 * 1024 + 17);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const put = await as("alice", `${app.url}/files/report.bin`, {
      method: "PUT",
      headers: { "content-type": "application/x-report" },
      body: bytes,
    });
    expect(put.status).toBe(201);
    expect(await put.json()).toEqual({
      name: "report.bin",
      size: bytes.length,
      sha256,
      contentType: "application/x-report",
    });

    const got = await as("carol", `${app.url}/files/report.bin`);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/x-report");
    expect(got.headers.get("etag")).toBe(`"${sha256}"`);
    expect(Buffer.from(await got.arrayBuffer()).equals(bytes)).toBe(true);

    const replaced = await as("alice", `${app.url}/files/report.bin`, { method: "PUT", body: "v2" });
    expect(replaced.status).toBe(200);
    expect(await (await as("alice", `${app.url}/files/report.bin`)).text()).toBe("v2");
    expect((await as("bob", `${app.url}/files/report.bin`)).status).toBe(404);
  });

  it("answers bad input with a 4xx JSON error naming what was wrong", async () => {
    const json = { "content-type": "application/json" };
    const cases: {
      name: string;
      send: () => Promise<Response>;
      status: number;
      code: string;
      names: string;
    }[] = [
      {
        name: "no token",
        send: () => as(undefined, `${app.url}/notes`),
        status: 401,
        code: "unauthorized",
        names: "authorization",
      },
      {
        name: "unknown token",
        send: () => fetch(`${app.url}/notes`, { headers: { authorization: "Bearer nobody" } }),
        status: 401,
        code: "unauthorized",
        names: "unknown token",
      },
      {
        name: "not JSON",
        send: () =>
          as("alice", `${app.url}/notes`, {
            method: "POST",
            headers: { "content-type": "text/plain" },
            body: "hi",
          }),
        status: 415,
        code: "unsupported_media_type",
        names: "application/json",
      },
      {
        name: "malformed JSON",
        send: () => as("alice", `${app.url}/notes`, { method: "POST", headers: json, body: "{" }),
        status: 400,
        code: "invalid_json",
        names: "JSON",
      },
      {
        name: "an array",
        send: () => postNote(app, "alice", []),
        status: 400,
        code: "validation_failed",
        names: "(body)",
      },
      {
        name: "no title",
        send: () => postNote(app, "alice", { content: "x" }),
        status: 400,
        code: "validation_failed",
        names: "title",
      },
      {
        name: "empty title",
        send: () => postNote(app, "alice", { title: " " }),
        status: 400,
        code: "validation_failed",
        names: "title",
      },
      {
        name: "unknown field",
        send: () => postNote(app, "alice", { title: "x", colour: "red" }),
        status: 400,
        code: "validation_failed",
        names: "colour",
      },
      {
        name: "tags not a list",
        send: () => postNote(app, "alice", { title: "x", tags: "ops" }),
        status: 400,
        code: "validation_failed",
        names: "tags",
      },
      {
        name: "bad idempotency key",
        send: () => postNote(app, "alice", { title: "x" }, { "idempotency-key": "has space" }),
        status: 400,
        code: "validation_failed",
        names: "idempotency-key",
      },
      {
        name: "note too large",
        send: () => postNote(app, "alice", { title: "x", content: "y".repeat(70 * 1024) }),
        status: 413,
        code: "payload_too_large",
        names: "bytes",
      },
      {
        name: "note too large, sent without a length",
        send: () =>
          as("alice", `${app.url}/notes`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            // Chunked: the limit is met while the body streams in, and the 413 must still reach the client.
            body: new Blob([JSON.stringify({ title: "x", content: "y".repeat(1024 * 1024) })]).stream(),
            duplex: "half",
          } as RequestInit),
        status: 413,
        code: "payload_too_large",
        names: "bytes",
      },
      {
        name: "id not a UUID",
        send: () => as("alice", `${app.url}/notes/42`),
        status: 400,
        code: "validation_failed",
        names: "id",
      },
      {
        name: "no such note",
        send: () => as("alice", `${app.url}/notes/${randomUUID()}`),
        status: 404,
        code: "not_found",
        names: "note",
      },
      {
        name: "limit too big",
        send: () => as("alice", `${app.url}/notes?limit=1000`),
        status: 400,
        code: "validation_failed",
        names: "limit",
      },
      {
        name: "unknown query",
        send: () => as("alice", `${app.url}/notes?colour=red`),
        status: 400,
        code: "validation_failed",
        names: "colour",
      },
      {
        name: "name with a slash",
        send: () => as("alice", `${app.url}/files/a%2Fb`, { method: "PUT", body: "x" }),
        status: 400,
        code: "validation_failed",
        names: "name",
      },
      {
        name: "bad percent-encoding",
        send: () => as("alice", `${app.url}/files/%E0%A4%A`, { method: "PUT", body: "x" }),
        status: 400,
        code: "validation_failed",
        names: "name",
      },
      {
        name: "backslash",
        send: () => as("alice", `${app.url}/files/a%5Cb`, { method: "PUT", body: "x" }),
        status: 400,
        code: "validation_failed",
        names: "name: contains a backslash at index 1",
      },
      {
        name: "no such file",
        send: () => as("alice", `${app.url}/files/missing.txt`),
        status: 404,
        code: "not_found",
        names: "file missing.txt not found",
      },
      {
        name: "wrong method",
        send: () => as("alice", `${app.url}/notes`, { method: "DELETE" }),
        status: 405,
        code: "method_not_allowed",
        names: "GET",
      },
      {
        name: "unknown route",
        send: () => as("alice", `${app.url}/nope`),
        status: 404,
        code: "not_found",
        names: "/nope",
      },
    ];
    for (const c of cases) {
      const res = await c.send();
      const body = (await res.json()) as { error: { code: string; message: string; details?: unknown } };
      expect({ case: c.name, status: res.status, code: body.error.code }).toEqual({
        case: c.name,
        status: c.status,
        code: c.code,
      });
      expect(`${body.error.message} ${JSON.stringify(body.error.details ?? {})}`, c.name).toContain(c.names);
    }
  });

  it("refuses a file over the limit with 413, before and while it streams, and stores nothing", async () => {
    const declared = startUpload(app, "too-big.bin", FILE_MAX_BYTES + 1);
    const early = await declared.response; // answered on Content-Length, before any byte is sent
    expect(early.status).toBe(413);
    expect(JSON.parse(early.body).error.code).toBe("payload_too_large");

    const streamed = await as("alice", `${app.url}/files/too-big.bin`, {
      method: "PUT",
      // No Content-Length: the limit is met while the body streams in.
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(randomBytes(FILE_MAX_BYTES));
          controller.enqueue(randomBytes(1024));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect((await as("alice", `${app.url}/files/too-big.bin`)).status).toBe(404);
    await until(async () => (await tempFiles()).length === 0, "the refused upload's temp file to go");
  });

  it("on SIGTERM stops accepting, finishes in-flight work, cuts what outlives the deadline, and exits 0", async () => {
    const size = 512 * 1024;
    const whole = randomBytes(size);
    const finishing = startUpload(app, "in-flight.bin", size);
    const stalled = startUpload(app, "stalled.bin", size);
    await finishing.write(whole.subarray(0, size / 2));
    await stalled.write(randomBytes(size / 2));
    await until(async () => (await tempFiles()).length === 2, "both uploads to be streaming to storage");
    const posted = await postNote(app, "alice", {
      title: "Posted just before SIGTERM",
      content: "Boiler pressure low.",
    });
    expect(posted.status).toBe(201);
    const lateNote = ((await posted.json()) as { id: string }).id;

    app.child.kill("SIGTERM");
    // The signal landed with both uploads in flight (the note's analysis may be running too).
    expect(await app.waitForLog("shutting down", 10_000)).toMatchObject({ requests: 2 });
    await expect(fetch(`${app.url}/health`)).rejects.toThrow(); // no new connections
    await finishing.write(whole.subarray(size / 2));
    finishing.end();
    const done = await finishing.response;
    expect(done.status).toBe(201);
    // The stalled upload never sends the rest: the deadline cuts its connection.
    await expect(stalled.response).rejects.toThrow();
    expect(await app.exited).toBe(0);
    expect(app.logs.find((l) => l.msg === "stopped")).toMatchObject({ timedOut: true });
    expect(await tempFiles()).toEqual([]); // nothing half-written left behind

    // Nothing lost: the next start has the finished upload whole, no trace of the cut one, and the note
    // posted just before the signal analysed (before the stop, or by the new process's workers).
    const next = await startApp();
    const got = await as("alice", `${next.url}/files/in-flight.bin`);
    expect(Buffer.from(await got.arrayBuffer()).equals(whole)).toBe(true);
    expect((await as("alice", `${next.url}/files/stalled.bin`)).status).toBe(404);
    await until(async () => {
      const res = await as("alice", `${next.url}/notes/${lateNote}`);
      return ((await res.json()) as { status: string }).status === "complete";
    }, "the late note to be analysed");
    next.child.kill("SIGTERM");
    expect(await next.exited).toBe(0);
    expect(next.logs.find((l) => l.msg === "stopped")).toMatchObject({ timedOut: false });
  }, 60_000);
});
