/**
 * The embedded PostgreSQL as the CLI starts it: as root from a folder only root may enter (a clone under
 * /root, a `mktemp -d`), in its own process group, and with data kept across restarts.
 */
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { lstat, mkdtemp, readdir, readFile, readlink, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { locatePostgresBinaries, rootStagingDir } from "../src/embedded/postgres-binaries.ts";
import { postgresAccount, reachableBy, runningAsRoot } from "../src/embedded/postgres-user.ts";
import { startEmbeddedPostgres } from "../src/index.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

/** A folder only its owner may enter, like `mktemp -d`. */
async function privateFolder(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cybernetic-0700-"));
  expect((await stat(dir)).mode & 0o777).toBe(0o700);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function query(url: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/** The process group of a process, from /proc. */
async function processGroup(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // pid (comm) state ppid pgrp …; comm may contain spaces, so split after its closing parenthesis.
  return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
}

describe("startEmbeddedPostgres", () => {
  it("starts from a data folder inside a 0700 folder, keeps the data across restarts, in its own process group", async () => {
    const dataDir = join(await privateFolder(), ".cybernetic", "postgres");
    const password = randomBytes(12).toString("hex");
    const first = await startEmbeddedPostgres({ dataDir, password });
    cleanups.push(() => first.stop());
    try {
      expect(await processGroup(first.pid)).toBe(first.pid);
      expect(await processGroup(first.pid)).not.toBe(await processGroup(process.pid));
      await query(first.url, "create table kept (v text); insert into kept values ('still here')");
      const { rows } = await query(first.url, "show server_encoding");
      expect(rows[0].server_encoding).toBe("UTF8");
      if (runningAsRoot()) {
        // PostgreSQL runs as `postgres`, who cannot enter the 0700 folder: the cluster lives where it can,
        // and the data folder points there.
        const account = await postgresAccount();
        expect(await reachableBy(dirname(dataDir), account)).toBe(false);
        expect((await lstat(dataDir)).isSymbolicLink()).toBe(true);
        expect(await readlink(dataDir)).toBe(first.clusterDir);
        expect(first.clusterDir.startsWith(await rootStagingDir())).toBe(true);
        expect((await stat(first.clusterDir)).uid).toBe(account.uid);
        cleanups.push(() => rm(first.clusterDir, { recursive: true, force: true }));
      } else {
        expect(first.clusterDir).toBe(dataDir);
      }
    } finally {
      await first.stop();
    }
    expect(existsSync(join(first.clusterDir, "postmaster.pid"))).toBe(false);

    const second = await startEmbeddedPostgres({ dataDir, password });
    try {
      expect(second.clusterDir).toBe(first.clusterDir);
      const { rows } = await query(second.url, "select v from kept");
      expect(rows).toEqual([{ v: "still here" }]);
    } finally {
      await second.stop();
    }
  }, 120_000);

  it("runs PostgreSQL programs kept in a 0700 folder (a clone under /root), and removes an ephemeral cluster", async () => {
    const folder = await privateFolder();
    const { cp } = await import("node:fs/promises");
    const binaryDir = join(folder, "node_modules", "native");
    await cp(locatePostgresBinaries().root, binaryDir, { recursive: true, verbatimSymlinks: true });
    const stagingBefore = runningAsRoot() ? new Set(await readdir(await rootStagingDir())) : new Set();
    const server = await startEmbeddedPostgres({
      dataDir: join(folder, "pg"),
      password: randomBytes(12).toString("hex"),
      binaryDir,
      ephemeral: true,
    });
    try {
      const { rows } = await query(server.url, "select current_user as who");
      expect(rows).toEqual([{ who: "postgres" }]);
      if (runningAsRoot()) {
        const exe = await readlink(`/proc/${server.pid}/exe`);
        expect(exe.startsWith(await rootStagingDir())).toBe(true);
      }
    } finally {
      await server.stop();
      if (runningAsRoot()) {
        const staging = await rootStagingDir();
        for (const entry of await readdir(staging)) {
          if (!stagingBefore.has(entry)) await rm(join(staging, entry), { recursive: true, force: true });
        }
      }
    }
    expect(existsSync(server.clusterDir)).toBe(false);
    expect(existsSync(join(folder, "pg"))).toBe(false);
  }, 120_000);

  it("a program that cannot run is one line that says what to do", async () => {
    const folder = await privateFolder();
    await expect(
      startEmbeddedPostgres({
        dataDir: join(folder, "pg"),
        password: "x",
        binaryDir: join(folder, "no-such-postgres"),
        ephemeral: true,
      }),
    ).rejects.toMatchObject({
      name: "EmbeddedPostgresError",
      message: expect.stringMatching(/^no PostgreSQL programs in \S+no-such-postgres .*set DATABASE_URL$/),
    });
  }, 60_000);
});
