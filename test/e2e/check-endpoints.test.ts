/**
 * The end-to-end check (`test/e2e/check-endpoints.mjs`) against a native stack with the compose file's
 * topology: a gateway process and a separate worker process, both started through the image's own
 * `docker/scripts/entrypoint.sh` (which waits for PostgreSQL, runs `cybernetic migrate`, and so creates
 * the runtime login role DATABASE_URL names), probed by `docker/scripts/healthcheck.sh`; PostgreSQL (a
 * database of this file's own), s3rver as the S3 backend, a fake Telegram Bot API. The metric names the
 * Grafana dashboard and the alert rules use are checked against what the two processes expose.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../packages/gateway/src/index.ts";
import { startTestS3, type TestS3 } from "../../packages/storage/test/support/s3-server.ts";
import { useTestPlatform } from "../setup/database.ts";
import { until } from "../support/until.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ENTRYPOINT = "docker/scripts/entrypoint.sh";
const HEALTHCHECK = "docker/scripts/healthcheck.sh";

interface Proc {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function start(args: string[], env: Record<string, string>): Proc {
  const child = spawn("sh", args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  child.stderr?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return { child, output: () => output, exited };
}

/** Runs a script to completion: exit code and output. */
function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
        timeout: 120_000,
      },
      (error, stdout, stderr) =>
        resolve({
          code: error ? Number((error as { code?: number }).code ?? 1) : 0,
          out: `${stdout}${stderr}`,
        }),
    );
  });
}

/** A fake Telegram Bot API: answers every method `{ ok: true }` and records the calls. */
async function fakeBotApi(): Promise<{ url: string; calls: string[]; close(): Promise<void> }> {
  const calls: string[] = [];
  const server: Server = createServer((req, res) => {
    calls.push(req.url ?? "");
    req.resume();
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ok: true, result: { message_id: calls.length, date: 0, chat: { id: 1 } } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, calls, close: () => new Promise((r) => server.close(() => r())) };
}

const ctx = useTestPlatform();
const adminKey = `cyb_admin_${randomBytes(24).toString("base64url")}`;
const webhookSecret = randomBytes(16).toString("hex");
const role = `cyb_e2e_${randomBytes(4).toString("hex")}`;
let s3: TestS3;
let bot: Awaited<ReturnType<typeof fakeBotApi>>;
let gateway: Proc;
let worker: Proc;
let gatewayUrl = "";
let workerUrl = "";
let env: Record<string, string> = {};

beforeAll(async () => {
  s3 = await startTestS3(`cyb-e2e-${randomBytes(3).toString("hex")}`);
  bot = await fakeBotApi();
  const runtime = new URL(ctx.database.directUrl);
  runtime.username = role;
  runtime.password = randomBytes(12).toString("hex");
  const [gatewayPort, workerPort] = [await freePort(), await freePort()];
  gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  workerUrl = `http://127.0.0.1:${workerPort}`;
  // What docker/.env gives both services, with this machine's addresses.
  env = {
    CYBERNETIC_HOME: "packages/gateway",
    HOST: "127.0.0.1",
    PORT: String(gatewayPort),
    WORKER_PORT: String(workerPort),
    LOG_LEVEL: "warn",
    DATABASE_OWNER_URL: ctx.database.ownerUrl,
    DATABASE_URL: runtime.toString(),
    CYBERNETIC_ADMIN_KEY: adminKey,
    STORAGE_DRIVER: "s3",
    S3_BUCKET: s3.bucket,
    S3_ENDPOINT: s3.endpoint,
    S3_REGION: s3.region,
    S3_ACCESS_KEY_ID: s3.credentials.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey,
    S3_FORCE_PATH_STYLE: "true",
    TELEGRAM_BOT_TOKEN: `123456789:${"A".repeat(35)}`,
    TELEGRAM_WEBHOOK_SECRET: webhookSecret,
    TELEGRAM_API_BASE_URL: bot.url,
    SHUTDOWN_TIMEOUT_MS: "5000",
  };
  gateway = start([ENTRYPOINT, "serve", "--no-workers"], env);
  await until(
    async () => ((await run(HEALTHCHECK, [], { PORT: String(gatewayPort) })).code === 0 ? true : undefined),
    "the gateway to pass healthcheck.sh",
    90_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${gateway.output()}`);
  });
  // The worker as compose starts it: no owner URL (the gateway's entrypoint has migrated).
  worker = start([ENTRYPOINT, "worker"], { ...env, DATABASE_OWNER_URL: "" });
  await until(
    async () => ((await run(HEALTHCHECK, [`${workerUrl}/health`])).code === 0 ? true : undefined),
    "the worker to pass healthcheck.sh",
    60_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n${worker.output()}`);
  });
}, 180_000);

afterAll(async () => {
  for (const proc of [worker, gateway]) {
    if (proc && proc.child.exitCode === null) proc.child.kill("SIGTERM");
  }
  const codes = await Promise.all([worker?.exited, gateway?.exited]);
  await s3?.close();
  await bot?.close();
  const admin = new pg.Client({ connectionString: ctx.database.adminUrl });
  await admin.connect();
  try {
    await admin.query(`drop owned by ${role}`).catch(() => {});
    await admin.query(`drop role if exists ${role}`);
  } finally {
    await admin.end();
  }
  expect(codes, `${worker?.output()}\n${gateway?.output()}`).toEqual([0, 0]);
}, 60_000);

describe("the end-to-end check against gateway + worker processes, PostgreSQL and s3rver", () => {
  it("passes every check, one line each", async () => {
    const { code, out } = await run(process.execPath, [
      "test/e2e/check-endpoints.mjs",
      gatewayUrl,
      adminKey,
      "--telegram-secret",
      webhookSecret,
    ]);
    console.log(`[e2e]\n${out}`);
    const lines = out.trim().split("\n");
    expect(
      lines.filter((l) => l.startsWith("FAIL")),
      `${out}\n${gateway.output()}\n${worker.output()}`,
    ).toEqual([]);
    expect(code).toBe(0);
    // Every line is a verdict, and the families the issue names are all there.
    for (const line of lines) expect(line).toMatch(/^(PASS|SKIP) |^\d+ passed, 0 failed$/);
    for (const family of [
      "health",
      "ready",
      "metrics",
      "tenants",
      "api keys",
      "systems",
      "episode + SSE",
      "policies",
      "artifacts",
      "telegram webhook",
    ])
      expect(
        lines.some((l) => l.includes(` ${family}`)),
        family,
      ).toBe(true);
  }, 180_000);

  it("the runtime role the entrypoint's migrate created is a member of cybernetic_app, not privileged", async () => {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ member: boolean; superuser: boolean }>(
        "select pg_has_role(current_user, 'cybernetic_app', 'member') as member, rolsuper as superuser from pg_roles where rolname = current_user",
      );
      expect(rows[0]).toEqual({ member: true, superuser: false });
    } finally {
      await client.end();
    }
  });

  it("every metric the Grafana dashboard and the alert rules use is exposed by the gateway or the worker", async () => {
    const exposed = new Set<string>(["up"]);
    for (const url of [gatewayUrl, workerUrl]) {
      const text = await (await fetch(`${url}/metrics`)).text();
      for (const line of text.split("\n")) {
        const name = /^# TYPE (\S+) /.exec(line)?.[1];
        if (name) exposed.add(name);
      }
    }
    const used = new Set<string>();
    const dashboard = JSON.parse(
      readFileSync(`${ROOT}/docker/grafana/dashboards/cybernetic.json`, "utf8"),
    ) as {
      panels: { targets: { expr: string }[] }[];
    };
    const exprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...[
        ...readFileSync(`${ROOT}/docker/prometheus/alerts.yml`, "utf8").matchAll(
          /expr: (?:\|\n)?([\s\S]*?)\n\s+for:/g,
        ),
      ].map((m) => m[1] as string),
    ];
    for (const expr of exprs) {
      for (const [name] of expr.matchAll(/\b(?:cybernetic|process|nodejs)_[a-z_]+\b|\bup\b/g)) used.add(name);
    }
    const missing = [...used].filter((name) => !exposed.has(name.replace(/_(bucket|sum|count)$/, "")));
    expect(used.size).toBeGreaterThan(8);
    expect(missing).toEqual([]);
  });

  it("entrypoint.sh: gives up on a database that never answers within DATABASE_WAIT_SECONDS, at once on a refused login", async () => {
    const closed = await freePort();
    const never = await run(ENTRYPOINT, ["migrate"], {
      CYBERNETIC_HOME: "packages/gateway",
      DATABASE_URL: `postgres://x:y@127.0.0.1:${closed}/db`,
      DATABASE_WAIT_SECONDS: "2",
    });
    expect(never.code).toBe(1);
    expect(never.out).toContain(`PostgreSQL at 127.0.0.1:${closed} did not answer within 2 s (ECONNREFUSED)`);
    // A login waiting cannot fix (a database that does not exist; a wrong password on servers that ask
    // for one) stops at once.
    const owner = new URL(ctx.database.ownerUrl);
    owner.pathname = "/no_such_database";
    const refused = await run(ENTRYPOINT, ["migrate"], {
      CYBERNETIC_HOME: "packages/gateway",
      DATABASE_OWNER_URL: owner.toString(),
      DATABASE_URL: env.DATABASE_URL ?? "",
    });
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/refused the login: database "no_such_database" does not exist/);
    expect(refused.out).not.toContain(owner.password);
    // Anything that is not a cybernetic command runs as given (a shell in the container).
    expect(await run(ENTRYPOINT, ["node", "-e", "console.log('as given')"])).toEqual({
      code: 0,
      out: "as given\n",
    });
  }, 60_000);

  it("healthcheck.sh: exit 1 with one line when nothing answers", async () => {
    const closed = await freePort();
    const { code, out } = await run(HEALTHCHECK, [`http://127.0.0.1:${closed}/health`]);
    expect(code).toBe(1);
    expect(out.trim()).toBe(`healthcheck: http://127.0.0.1:${closed}/health: ECONNREFUSED`);
  });
});
