/**
 * A real PgBouncer in transaction mode in front of the test PostgreSQL, for the CI pass that proves the
 * platform behind a transaction pooler (`CYBERNETIC_TEST_PGBOUNCER=1`; Debian's pgbouncer 1.18, which has
 * no prepared-statement support). Its config lives in a temporary folder; it runs in the foreground as a
 * child of the test run, as the `postgres` account when we are root (PgBouncer refuses to run as root).
 *
 * Only the runtime role goes through it: admin, owner, LISTEN and job-queue connections stay direct, as
 * `docs/configuration.md` tells operators to configure them. No `ignore_startup_parameters` beyond
 * `extra_float_digits`: the runtime pool must not send the timeouts as startup parameters behind it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chmod, chown, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { freePort } from "../../packages/gateway/src/embedded/embedded-postgres.ts";
import { postgresAccount, runningAsRoot } from "../../packages/gateway/src/embedded/postgres-user.ts";

/** A running PgBouncer. */
export interface RunningPgBouncer {
  host: string;
  port: number;
  /** `PgBouncer 1.18.0` */
  version: string;
  stop(): Promise<void>;
}

/** Options of `startPgBouncer`. */
export interface PgBouncerOptions {
  /** The PostgreSQL it pools (host and port are read from it). */
  serverUrl: string;
  /** Login roles allowed through, with their passwords (PgBouncer's auth_file). */
  users: Record<string, string>;
  /** Server connections per database and user. */
  poolSize?: number;
}

/** The pgbouncer program: `$CYBERNETIC_TEST_PGBOUNCER` when it is a path, else the one on PATH or in /usr/sbin. */
function binary(): string {
  const configured = process.env.CYBERNETIC_TEST_PGBOUNCER ?? "";
  if (configured.includes("/")) return configured;
  for (const candidate of ["pgbouncer", "/usr/sbin/pgbouncer"]) {
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" });
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(
    "CYBERNETIC_TEST_PGBOUNCER is set but no pgbouncer program was found: apt-get install pgbouncer",
  );
}

const quote = (value: string) => `"${value.replaceAll('"', '""')}"`;

/** Starts PgBouncer and waits until a user of `users` can run a query through it. */
export async function startPgBouncer(options: PgBouncerOptions): Promise<RunningPgBouncer> {
  const program = binary();
  const version = execFileSync(program, ["--version"], { encoding: "utf8" }).split("\n")[0]?.trim() ?? "?";
  const server = new URL(options.serverUrl);
  const dir = await mkdtemp(join(tmpdir(), "cybernetic-pgbouncer-"));
  const port = await freePort();
  const ini = join(dir, "pgbouncer.ini");
  const users = join(dir, "users.txt");
  await writeFile(
    users,
    Object.entries(options.users)
      .map(([user, password]) => `${quote(user)} ${quote(password)}\n`)
      .join(""),
    { mode: 0o600 },
  );
  await writeFile(
    ini,
    [
      "[databases]",
      // Any database name the client asks for, on the same server: each test file has its own database.
      `* = host=${server.hostname || "127.0.0.1"} port=${server.port || "5432"}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = md5",
      `auth_file = ${users}`,
      "pool_mode = transaction",
      "max_client_conn = 2000",
      `default_pool_size = ${options.poolSize ?? 10}`,
      "server_idle_timeout = 10",
      "ignore_startup_parameters = extra_float_digits",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
  let account: { uid: number; gid: number } | undefined;
  if (runningAsRoot()) {
    account = await postgresAccount();
    for (const path of [dir, ini, users]) await chown(path, account.uid, account.gid);
    await chmod(dir, 0o700);
  }
  const child: ChildProcess = spawn(program, [ini], {
    stdio: ["ignore", "pipe", "pipe"],
    ...(account ? { uid: account.uid, gid: account.gid } : {}),
  });
  let output = "";
  child.stdout?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  child.stderr?.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.on("close", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  const [user, password] = Object.entries(options.users)[0] ?? [];
  const probe = new URL(options.serverUrl);
  probe.hostname = "127.0.0.1";
  probe.port = String(port);
  probe.username = encodeURIComponent(user ?? "");
  probe.password = encodeURIComponent(password ?? "");
  const deadline = Date.now() + 15_000;
  for (;;) {
    const client = new pg.Client({ connectionString: probe.toString() });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("select 1");
      await client.end();
      break;
    } catch (error) {
      await client.end().catch(() => {});
      if (child.exitCode !== null || Date.now() > deadline) {
        await stop();
        throw new Error(`pgbouncer did not start: ${(error as Error).message}\n${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { host: "127.0.0.1", port, version, stop };
}
