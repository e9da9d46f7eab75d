/**
 * The `cybernetic` CLI as operators run it: a child process (`node packages/gateway/dist/cli.js`, the built CLI)
 * against a test database, and once against its embedded default.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { createJobQueue } from "../../workers/src/index.ts";
import { freePort } from "../src/index.ts";
import { runCli, startCli } from "./helpers/run-cli.ts";

const ctx = useTestPlatform();

describe("cybernetic --help", () => {
  it("lists the commands", async () => {
    const { code, stdout } = await runCli(["--help"]);
    expect(code).toBe(0);
    for (const command of ["serve", "worker", "migrate", "tenant create", "tenant key", "pnpm cybernetic"])
      expect(stdout).toContain(command);
  });

  it("has help for each command", async () => {
    for (const [args, needle] of [
      [["serve", "--help"], "--no-workers"],
      [["worker", "-h"], "WORKER_CONCURRENCY"],
      [["migrate", "--help"], "--print-sql"],
      [["tenant", "create", "--help"], "--json"],
      [["tenant", "key", "--help"], "tenant key <slug>"],
      [["help", "migrate"], "--status"],
    ] as const) {
      const { code, stdout } = await runCli([...args]);
      expect(code).toBe(0);
      expect(stdout).toContain(needle);
    }
  }, 120_000);

  it("prints the gateway's version", async () => {
    const { code, stdout } = await runCli(["--version"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
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

  it("with the owner URL, creates the runtime role DATABASE_URL names (idempotently, also from two at once)", async () => {
    const role = `cyb_rt_${randomBytes(4).toString("hex")}`;
    const as = (password: string) => {
      const u = new URL(ctx.database.directUrl);
      u.username = role;
      u.password = password;
      return u.toString();
    };
    const probe = async (url: string) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (
          await client.query<{ member: boolean; superuser: boolean }>(
            "select pg_has_role(current_user, 'cybernetic_app', 'member') as member, rolsuper as superuser from pg_roles where rolname = current_user",
          )
        ).rows[0];
      } finally {
        await client.end();
      }
    };
    const admin = new pg.Client({ connectionString: ctx.database.adminUrl });
    await admin.connect();
    const stored = async () => {
      const { rows } = await admin.query<{ password: string | null }>(
        "select rolpassword as password from pg_authid where rolname = $1",
        [role],
      );
      return { count: rows.length, password: rows[0]?.password ?? null };
    };
    try {
      const env = { DATABASE_OWNER_URL: ctx.database.ownerUrl, DATABASE_URL: as("first-password") };
      const [one, two] = await Promise.all([runCli(["migrate"], env), runCli(["migrate"], env)]);
      expect(one.code, one.stderr).toBe(0);
      expect(two.code, two.stderr).toBe(0);
      expect(one.stdout).toContain(`runtime role "${role}" is ready`);
      expect(await probe(as("first-password"))).toEqual({ member: true, superuser: false });
      // Run again with another password: the role is updated (its stored password changes; a server
      // with trust authentication would accept either at login), not duplicated.
      const before = await stored();
      const again = await runCli(["migrate"], { ...env, DATABASE_URL: as("second-password") });
      expect(again.code, again.stderr).toBe(0);
      expect(await probe(as("second-password"))).toEqual({ member: true, superuser: false });
      const after = await stored();
      expect(after.count).toBe(1);
      expect(after.password).not.toBe(before.password);
    } finally {
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
  });
});

describe("cybernetic dead-letters", () => {
  it("lists the dead-letter queues, retries jobs onto their queue and discards the rest", async () => {
    const queue = createJobQueue({ connectionString: ctx.database.directUrl, poolSize: 1 });
    await queue.start();
    try {
      const payload = (n: number) => ({
        tenantId: "5f0c8a9e-2b1d-4c3e-9f00-0a1b2c3d4e5f",
        episodeId: `5f0c8a9e-2b1d-4c3e-9f00-0a1b2c3d4e${n}0`,
      });
      for (const n of [1, 2, 3]) await queue.boss.send("episode.analyze.dead", payload(n));
      const listed = await runCli(["dead-letters"], ctx.database.env);
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout).toContain("episode.analyze.dead\t3\n");
      expect(listed.stdout).toContain("3 dead letter(s)");

      const retried = await runCli(
        ["dead-letters", "retry", "episode.analyze", "--limit", "2"],
        ctx.database.env,
      );
      expect(retried.code, retried.stderr).toBe(0);
      expect(retried.stdout).toBe("retried 2 job(s) of episode.analyze.dead on episode.analyze\n");
      const depths = await queue.depths();
      expect(depths["episode.analyze.dead"]).toBe(1);
      expect(depths["episode.analyze"]).toBe(2);

      const discarded = await runCli(["dead-letters", "discard", "episode.analyze"], ctx.database.env);
      expect(discarded.stdout).toBe("discarded 1 job(s) of episode.analyze.dead\n");
      expect((await runCli(["dead-letters"], ctx.database.env)).stdout).toContain("no dead letters");
      const unknown = await runCli(["dead-letters", "retry", "no.such.queue"], ctx.database.env);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toContain("episode.analyze");
    } finally {
      await queue.stop({ graceful: false });
    }
  }, 120_000);
});

describe("cybernetic tenant create", () => {
  it("creates a tenant and prints its key once, as JSON with --json", async () => {
    const { code, stdout, stderr } = await runCli(
      ["tenant", "create", "cli-made", "--name", "Made by CLI", "--json"],
      {
        ...ctx.database.env,
      },
    );
    expect(code, stderr).toBe(0);
    const out = JSON.parse(stdout);
    expect(out.tenant).toMatchObject({ slug: "cli-made", name: "Made by CLI" });
    expect(out.apiKey.key).toMatch(/^cyb_/);
    await expect(ctx.platform.apiKeys.resolve(out.apiKey.key)).resolves.toMatchObject({
      tenantId: out.tenant.id,
    });
    const again = await runCli(["tenant", "create", "cli-made"], ctx.database.env);
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
    // It says which command creates the role to use instead, without repeating the password.
    expect(stderr).toContain("DATABASE_OWNER_URL='postgres://cybernetic_test_owner:…@");
    expect(stderr).toContain("DATABASE_URL='postgres://cybernetic_runtime:<new-password>@");
    expect(stderr).toContain("cybernetic migrate");
    expect(stderr).not.toContain(new URL(ctx.database.ownerUrl).password);
  });

  it("serves with DATABASE_URL, then stops gracefully on SIGTERM with exit 0", async () => {
    const serve = startCli(["serve", "--no-workers"], {
      ...ctx.database.env,
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
        // The keys are not shown again; the banner says where the admin key is and how to get a tenant key.
        expect(banner).not.toContain("cyb_admin_");
        expect(banner).not.toContain("shown once");
        expect(banner).toContain(`admin key:  in ${join(dataDir, "secrets.json")} ("adminKey")`);
        expect(banner).toContain("pnpm cybernetic tenant key default");
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

describe("cybernetic tenant key", () => {
  it("issues another key for an existing tenant, and refuses an unknown slug", async () => {
    const created = await ctx.platform.tenants.create({ name: "Keyed", slug: "cli-keyed" });
    const { code, stdout, stderr } = await runCli(["tenant", "key", "cli-keyed", "--name", "ops", "--json"], {
      ...ctx.database.env,
    });
    expect(code, stderr).toBe(0);
    const key = JSON.parse(stdout);
    expect(key).toMatchObject({ tenantId: created.tenant.id, name: "ops" });
    await expect(ctx.platform.apiKeys.resolve(key.key)).resolves.toMatchObject({
      tenantId: created.tenant.id,
    });
    const unknown = await runCli(["tenant", "key", "no-such-tenant"], ctx.database.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim()).toMatch(/^cybernetic: .*no-such-tenant/);
  });
});

describe("cybernetic serve's SHUTDOWN_TIMEOUT_MS", () => {
  it("is a ceiling for the whole stop: a request that never finishes is cut, later steps are not waited for, exit 0", async () => {
    const { apiKey } = await ctx.platform.tenants.create(
      { name: "Slow", slug: "cli-slow" },
      { issueKey: true },
    );
    const serve = startCli(["serve", "--no-workers"], {
      ...ctx.database.env,
      DATABASE_OWNER_URL: ctx.database.ownerUrl,
      PORT: "0",
      STORAGE_DRIVER: "memory",
      CYBERNETIC_ADMIN_KEY: randomBytes(32).toString("base64url"),
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: "300",
    });
    try {
      const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
      const { port } = new URL(url as string);
      const { connect } = await import("node:net");
      // The key is cached after one complete request: the slow one below is past auth (no database look-up
      // still running when the deadline comes) and waiting for its body.
      const warm = await fetch(`${url}/v1/episodes`, { headers: { authorization: `Bearer ${apiKey?.key}` } });
      expect(warm.status).toBe(200);
      // An episode whose body never arrives in full: in flight until the deadline cuts it.
      const socket = connect(Number(port), "127.0.0.1");
      await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
      socket.on("error", () => {});
      socket.write(
        `POST /v1/episodes HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${apiKey?.key}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"title":`,
      );
      await new Promise((resolve) => setTimeout(resolve, 200)); // let the request reach its handler
      expect(await serve.stop("SIGTERM")).toBe(0);
      const lines = serve
        .output()
        .stdout.split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { msg: string; level: string });
      expect(lines.map((l) => l.msg)).toContainEqual(expect.stringMatching(/^SHUTDOWN_TIMEOUT_MS passed/));
      expect(lines.filter((l) => l.level === "error")).toEqual([]);
      expect(lines.at(-1)?.msg).toBe("stopped");
      socket.destroy();
    } finally {
      await serve.stop("SIGKILL");
    }
  }, 120_000);
});
