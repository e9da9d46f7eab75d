/**
 * The `cybernetic` CLI as operators run it: a child process (`node --import tsx packages/gateway/src/cli.ts`)
 * against a test database, and once against its embedded default.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { freePort } from "../src/index.ts";
import { runCli, startCli } from "./helpers/run-cli.ts";

const ctx = useTestPlatform();

describe("cybernetic --help", () => {
  it("lists the commands", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    for (const command of ["serve", "worker", "migrate", "tenant create"]) expect(stdout).toContain(command);
  });

  it("has help for each command", async () => {
    for (const [args, needle] of [
      [["serve", "--help"], "--no-workers"],
      [["worker", "-h"], "WORKER_CONCURRENCY"],
      [["migrate", "--help"], "--print-sql"],
      [["tenant", "create", "--help"], "--json"],
    ] as const) {
      const { code, stdout } = await runCli([...args]);
      expect(code).toBe(0);
      expect(stdout).toContain(needle);
    }
  });

  it("refuses unknown commands and options with exit code 2", async () => {
    expect((await runCli(["frobnicate"])).code).toBe(2);
    const bad = await runCli(["migrate", "--colour"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--colour");
  });
});

describe("configuration", () => {
  it("a bad value stops start-up naming the variable", async () => {
    const port = await runCli(["serve"], { PORT: "http" });
    expect(port.code).not.toBe(0);
    expect(port.stderr).toContain("PORT");
    const storage = await runCli(["serve"], { STORAGE_DRIVER: "s3" });
    expect(storage.code).not.toBe(0);
    expect(storage.stderr).toContain("S3_BUCKET");
    const level = await runCli(["migrate", "--status"], { LOG_LEVEL: "loud" });
    expect(level.stderr).toContain("LOG_LEVEL");
  });

  it("never echoes a secret's value", async () => {
    const { code, stderr } = await runCli(["serve"], { CYBERNETIC_ADMIN_KEY: "tooshort-secret" });
    expect(code).not.toBe(0);
    expect(stderr).toContain("CYBERNETIC_ADMIN_KEY");
    expect(stderr).not.toContain("tooshort-secret");
  });

  it("an unreachable database is one line naming host and port, without the password", async () => {
    const port = await freePort();
    const { code, stderr } = await runCli(["migrate", "--status"], {
      DATABASE_URL: `postgres://app:hunter2-secret@127.0.0.1:${port}/cyb`,
    });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe(`cybernetic: cannot reach PostgreSQL at 127.0.0.1:${port}/cyb: ECONNREFUSED`);
  });
});

describe("cybernetic migrate", () => {
  it("--status lists the applied migrations", async () => {
    const { code, stdout } = await runCli(["migrate", "--status"], { DATABASE_URL: ctx.database.ownerUrl });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^applied {2}0001_initial {2}\d{4}-/m);
    expect(stdout).toContain("database is up to date");
  });

  it("--print-sql prints the SQL without a database", async () => {
    const { code, stdout } = await runCli(["migrate", "--print-sql"]);
    expect(code).toBe(0);
    expect(stdout).toContain("-- migration 0001_initial");
    expect(stdout).toMatch(/force row level security/i);
  });

  it("applies migrations (a no-op when up to date)", async () => {
    const { code, stdout, stderr } = await runCli(["migrate"], { DATABASE_URL: ctx.database.ownerUrl });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("database is up to date");
  });
});

describe("cybernetic tenant create", () => {
  it("creates a tenant and prints its key once, as JSON with --json", async () => {
    const { code, stdout, stderr } = await runCli(
      ["tenant", "create", "cli-made", "--name", "Made by CLI", "--json"],
      {
        DATABASE_URL: ctx.database.appUrl,
      },
    );
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.tenant).toMatchObject({ slug: "cli-made", name: "Made by CLI" });
    expect(out.apiKey.key).toMatch(/^cyb_/);
    await expect(ctx.platform.apiKeys.resolve(out.apiKey.key)).resolves.toMatchObject({
      tenantId: out.tenant.id,
    });
    const again = await runCli(["tenant", "create", "cli-made"], { DATABASE_URL: ctx.database.appUrl });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("taken");
  });
});

describe("cybernetic serve", () => {
  it("refuses to serve over a role that bypasses row-level security", async () => {
    const { code, stderr } = await runCli(["serve", "--no-workers"], {
      DATABASE_URL: ctx.database.ownerUrl,
      PORT: "0",
    });
    expect(code).toBe(1);
    expect(stderr).toContain("refusing to serve");
    expect(stderr).toContain("owns the cybernetic tables");
  });

  it("serves with DATABASE_URL, then stops gracefully on SIGTERM with exit 0", async () => {
    const serve = startCli(["serve", "--no-workers"], {
      DATABASE_URL: ctx.database.appUrl,
      DATABASE_OWNER_URL: ctx.database.ownerUrl,
      PORT: "0",
      STORAGE_DRIVER: "memory",
      CYBERNETIC_ADMIN_KEY: randomBytes(32).toString("base64url"),
      LOG_LEVEL: "info",
    });
    try {
      const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
      const health = await fetch(`${url}/health`);
      expect(health.status).toBe(200);
      const ready = await fetch(`${url}/ready`);
      expect(ready.status, await ready.text()).toBe(200);
      expect(await serve.stop("SIGTERM")).toBe(0);
      const lines = serve
        .output()
        .stdout.split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toContainEqual(
        expect.objectContaining({ msg: "request", route: "/health", status: 200 }),
      );
      expect(lines.at(-1)).toMatchObject({ msg: "stopped" });
    } finally {
      await serve.stop("SIGKILL");
    }
  });

  it("with no DATABASE_URL: embedded PostgreSQL, a default tenant and admin key on first start, kept on restart", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "cybernetic-cli-"));
    const vars = { CYBERNETIC_DATA_DIR: dataDir, PORT: "0" };
    try {
      const first = startCli(["serve"], vars);
      let key = "";
      try {
        const [, url] = await first.waitFor(/listening on (http:\/\/\S+)/, 110_000);
        const banner = first.output().stderr;
        const adminKey = /admin key: {2}(\S+)/.exec(banner)?.[1];
        key = /API key \(shown once, store it now\):\s+(cyb_\S+)/.exec(banner)?.[1] ?? "";
        expect(adminKey).toMatch(/^cyb_admin_/);
        expect(key).toMatch(/^cyb_/);
        expect(banner).toContain(`curl ${url}/health`);
        const systems = await fetch(`${url}/v1/systems`, { headers: { authorization: `Bearer ${key}` } });
        expect(systems.status).toBe(200);
        const tenants = await fetch(`${url}/v1/tenants`, {
          headers: { authorization: `Bearer ${adminKey}` },
        });
        expect((await tenants.json()).items[0].slug).toBe("default");
        expect((await stat(join(dataDir, "secrets.json"))).mode & 0o777).toBe(0o600);
        expect(await first.stop("SIGINT")).toBe(0);
      } finally {
        await first.stop("SIGKILL");
      }
      const second = startCli(["serve", "--no-workers"], vars);
      try {
        const [, url] = await second.waitFor(/listening on (http:\/\/\S+)/, 110_000);
        const banner = second.output().stderr;
        expect(banner).not.toContain("admin key:");
        expect(banner).not.toContain("shown once");
        const systems = await fetch(`${url}/v1/systems`, { headers: { authorization: `Bearer ${key}` } });
        expect(systems.status).toBe(200);
        expect(await second.stop("SIGTERM")).toBe(0);
      } finally {
        await second.stop("SIGKILL");
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
