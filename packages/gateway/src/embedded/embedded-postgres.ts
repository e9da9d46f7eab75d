import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import {
  chmod,
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  realpath,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { EmbeddedPostgresError } from "./embedded-postgres-error.js";
import {
  customBinaries,
  locatePostgresBinaries,
  type PostgresBinaries,
  rootStagingDir,
  stagePostgresBinaries,
} from "./postgres-binaries.js";
import { type PostgresAccount, postgresAccount, reachableBy, runningAsRoot } from "./postgres-user.js";

export { EmbeddedPostgresError } from "./embedded-postgres-error.js";

/** Options of `startEmbeddedPostgres`. */
export interface EmbeddedPostgresOptions {
  /** Cluster data directory; created and initialised on first start, reused after. */
  dataDir: string;
  /** Port on 127.0.0.1; 0 (default) picks a free one. Never 5432 by default, so a system server is left alone. */
  port?: number;
  user?: string;
  password: string;
  /** Remove the data directory on stop (tests). */
  ephemeral?: boolean;
  /** Extra `-c name=value` server settings. */
  settings?: Record<string, string | number>;
  /** Receives the server's log lines. */
  onLog?: (line: string) => void;
  /** A PostgreSQL installation (`bin/`, `lib/`, `share/`) to run instead of the embedded-postgres package's. */
  binaryDir?: string;
}

/** A running embedded PostgreSQL. */
export interface EmbeddedPostgresHandle {
  /** Superuser URL of the `postgres` database. */
  url: string;
  port: number;
  /** Process id of the postmaster (the leader of its own process group). */
  pid: number;
  user: string;
  password: string;
  /** Where the cluster's files are: `dataDir`, or (as root, see `startEmbeddedPostgres`) where it points. */
  clusterDir: string;
  /** URL of another database on the same server, as the same superuser. */
  urlFor(database: string): string;
  /**
   * Stops the server and waits for it to exit: a smart shutdown (sessions still closing finish, so
   * their clients see no "terminating connection" error), a fast one after 3 s.
   */
  stop(): Promise<void>;
}

/** Finds a free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const READY = "database system is ready to accept connections";
const START_TIMEOUT_MS = 60_000;
/** A smart shutdown waits for sessions to end; after this long a fast one ends them. */
const SMART_STOP_MS = 3_000;
/** After this long a fast shutdown that has not finished becomes an immediate one. */
const STOP_TIMEOUT_MS = 15_000;

/** Where the cluster lives and who runs it. */
interface Placement {
  clusterDir: string;
  binaries: PostgresBinaries;
  account?: PostgresAccount;
  /** Removes what an ephemeral cluster left behind. */
  remove(): Promise<void>;
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must reach both the programs and the cluster
 * folder: when one is inside a folder it cannot enter (the usual clone under `/root`, a `mktemp -d`),
 * the programs are staged and the cluster is kept under `rootStagingDir()`, with `dataDir` a symbolic
 * link to it (so the data folder still says where its database is).
 */
async function place(dataDir: string, binaryDir: string | undefined): Promise<Placement> {
  const located = binaryDir ? customBinaries(binaryDir) : locatePostgresBinaries();
  if (!existsSync(located.postgres) || !existsSync(located.initdb)) {
    throw new EmbeddedPostgresError(
      `no PostgreSQL programs in ${located.root} (bin/postgres or bin/initdb is missing): reinstall the embedded-postgres package, or set DATABASE_URL`,
    );
  }
  const target = resolve(dataDir);
  if (!runningAsRoot()) {
    await mkdir(target, { recursive: true, mode: 0o700 });
    return {
      clusterDir: target,
      binaries: located,
      remove: () => rm(target, { recursive: true, force: true }),
    };
  }
  const account = await postgresAccount();
  const binaries = (await reachableBy(located.root, account))
    ? located
    : await stagePostgresBinaries(located, await rootStagingDir());

  const own = async (dir: string) => {
    await chown(dir, account.uid, account.gid);
    await chmod(dir, 0o700);
  };
  const linked = await lstat(target).then(
    (info) => (info.isSymbolicLink() ? readlink(target) : undefined),
    () => undefined,
  );
  if (linked === undefined && (await reachableBy(dirname(target), account))) {
    await mkdir(target, { recursive: true });
    await own(target);
    return {
      clusterDir: target,
      binaries,
      account,
      remove: () => rm(target, { recursive: true, force: true }),
    };
  }

  let clusterDir = linked;
  if (clusterDir === undefined) {
    if (existsSync(target) && (await readdir(target)).length > 0) {
      throw new EmbeddedPostgresError(
        `the embedded PostgreSQL data in ${target} is inside a folder the postgres user cannot enter: ` +
          "allow it in (chmod o+x on each parent folder), or move CYBERNETIC_DATA_DIR elsewhere",
      );
    }
    await mkdir(dirname(target), { recursive: true });
    const key = createHash("sha256")
      .update(join(await realpath(dirname(target)), basename(target)))
      .digest("hex")
      .slice(0, 24);
    const clusters = join(await rootStagingDir(), "clusters");
    await mkdir(clusters, { recursive: true, mode: 0o711 });
    await chmod(clusters, 0o711);
    clusterDir = join(clusters, key);
    // Left by a data folder of the same path that has since been deleted (its passwords went with it).
    await rm(clusterDir, { recursive: true, force: true });
    await rm(target, { recursive: true, force: true });
    await mkdir(clusterDir, { mode: 0o700 });
    await symlink(clusterDir, target);
  }
  await mkdir(clusterDir, { recursive: true });
  await own(clusterDir);
  const cluster = clusterDir;
  return {
    clusterDir: cluster,
    binaries,
    account,
    async remove() {
      await rm(cluster, { recursive: true, force: true });
      await rm(target, { force: true });
    },
  };
}

/** Spawn options for a PostgreSQL program: as `account` when root, messages in English. */
function programOptions(account: PostgresAccount | undefined) {
  return {
    ...(account ? { uid: account.uid, gid: account.gid } : {}),
    env: { ...process.env, LC_MESSAGES: "C", LANG: "C" },
    stdio: ["ignore", "pipe", "pipe"] as ["ignore", "pipe", "pipe"],
  };
}

function cannotRun(program: string, error: NodeJS.ErrnoException): EmbeddedPostgresError {
  return new EmbeddedPostgresError(
    `cannot run ${program} (${error.code ?? error.message}): reinstall the embedded-postgres package, or set DATABASE_URL`,
  );
}

/** The line of a failed start worth showing: the last FATAL/ERROR, else the last line. */
function lastProblem(lines: string[]): string {
  const found = lines.findLast((l) => /\b(FATAL|ERROR|PANIC)\b/.test(l)) ?? lines.at(-1) ?? "no output";
  return found.trim();
}

function splitLines(onLine: (line: string) => void): (chunk: Buffer) => void {
  let rest = "";
  return (chunk) => {
    const text = rest + chunk.toString("utf8");
    const lines = text.split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (line.trim()) onLine(line.trimEnd());
  };
}

async function initialise(
  placement: Placement,
  user: string,
  password: string,
  ephemeral: boolean,
  onLog: (line: string) => void,
): Promise<void> {
  // The password file must be readable by the account initdb runs as, and by no one else.
  const pwDir = await mkdtemp(join(tmpdir(), "cybernetic-pw-"));
  const pwFile = join(pwDir, "pw");
  try {
    await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
    if (placement.account) {
      await chown(pwDir, placement.account.uid, placement.account.gid);
      await chown(pwFile, placement.account.uid, placement.account.gid);
    }
    const args = [
      `--pgdata=${placement.clusterDir}`,
      "--auth=scram-sha-256",
      `--username=${user}`,
      `--pwfile=${pwFile}`,
      "--encoding=UTF8",
      "--locale=C",
      "--no-instructions",
      ...(ephemeral ? ["--no-sync"] : []),
    ];
    const lines: string[] = [];
    await new Promise<void>((resolvePromise, reject) => {
      const child = spawn(placement.binaries.initdb, args, programOptions(placement.account));
      const collect = splitLines((line) => {
        lines.push(line);
        onLog(line);
      });
      child.stdout.on("data", collect);
      child.stderr.on("data", collect);
      child.on("error", (error) => reject(cannotRun(placement.binaries.initdb, error)));
      child.on("close", (code, signal) => {
        if (code === 0) resolvePromise();
        else
          reject(
            new EmbeddedPostgresError(
              `initdb failed (${signal ?? `exit ${code}`}) in ${placement.clusterDir}: ${lastProblem(lines)}`,
            ),
          );
      });
    });
  } finally {
    await rm(pwDir, { recursive: true, force: true });
  }
}

/** Starts the postmaster in its own process group and resolves once it accepts connections. */
function launch(
  placement: Placement,
  port: number,
  settings: string[],
  onLog: (line: string) => void,
): Promise<ChildProcess> {
  return new Promise((resolvePromise, reject) => {
    const lines: string[] = [];
    // detached: its own process group, so the terminal's Ctrl-C (sent to the whole foreground group)
    // does not reach it; the CLI stops it itself, last, after the pool is closed.
    const child = spawn(
      placement.binaries.postgres,
      ["-D", placement.clusterDir, "-p", String(port), "-c", "lc_messages=C", ...settings],
      { ...programOptions(placement.account), detached: true },
    );
    let ready = false;
    const timer = setTimeout(() => {
      child.kill("SIGQUIT");
      reject(new EmbeddedPostgresError(`embedded PostgreSQL did not start within ${START_TIMEOUT_MS} ms`));
    }, START_TIMEOUT_MS);
    const collect = splitLines((line) => {
      if (!ready) lines.push(line);
      onLog(line);
      if (!ready && line.includes(READY)) {
        ready = true;
        clearTimeout(timer);
        resolvePromise(child);
      }
    });
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(cannotRun(placement.binaries.postgres, error));
    });
    child.on("exit", (code, signal) => {
      if (ready) return;
      clearTimeout(timer);
      reject(
        new EmbeddedPostgresError(
          `embedded PostgreSQL exited at start (${signal ?? `exit ${code}`}): ${lastProblem(lines)}`,
        ),
      );
    });
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Starts PostgreSQL from the binaries of the `embedded-postgres` package (an optional dependency; the
 * package's own module is never loaded, so it installs no signal hooks). The server runs in its own
 * process group, so a Ctrl-C in the terminal reaches only the CLI, which stops it last; should this
 * process exit without stopping it, it is sent a fast shutdown on the way out.
 *
 * As root it runs as the `postgres` system user (created when missing), because PostgreSQL refuses to
 * run as root. When that user cannot reach the programs or the data folder (a clone under `/root` or in a
 * `mktemp -d`), the programs are copied (hard-linked where possible) once per version, and the cluster is
 * kept, under `/var/tmp/cybernetic-postgres` (root-owned, 0711), with `dataDir` a symbolic link to it.
 * What cannot work (no `postgres` user and no `useradd`, say) fails with an `EmbeddedPostgresError`
 * whose one-line message says what to do.
 *
 * @example
 * ```ts
 * const pg = await startEmbeddedPostgres({ dataDir: ".cybernetic/postgres", password: "secret" });
 * // … use pg.url …
 * await pg.stop();
 * ```
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<EmbeddedPostgresHandle> {
  const onLog = options.onLog ?? (() => {});
  const user = options.user ?? "postgres";
  const placement = await place(options.dataDir, options.binaryDir);
  if (!existsSync(join(placement.clusterDir, "PG_VERSION"))) {
    await initialise(placement, user, options.password, Boolean(options.ephemeral), onLog);
  }
  const port = options.port || (await freePort());
  const settings = Object.entries({ listen_addresses: "127.0.0.1", ...options.settings }).flatMap(
    ([k, v]) => ["-c", `${k}=${v}`],
  );
  const child = await launch(placement, port, settings, onLog);
  // Not left running if this process ends without stop() (an error, a second Ctrl-C): a fast shutdown,
  // which the server completes on its own.
  const onExit = () => {
    if (!exited(child) && child.pid !== undefined) process.kill(child.pid, "SIGINT");
  };
  process.on("exit", onExit);

  const urlFor = (database: string) =>
    `postgres://${encodeURIComponent(user)}:${encodeURIComponent(options.password)}@127.0.0.1:${port}/${database}`;
  let stopping: Promise<void> | undefined;
  return {
    url: urlFor("postgres"),
    port,
    pid: child.pid ?? 0,
    user,
    password: options.password,
    clusterDir: placement.clusterDir,
    urlFor,
    stop() {
      stopping ??= (async () => {
        if (!exited(child)) {
          await new Promise<void>((done) => {
            child.kill("SIGTERM");
            const fast = setTimeout(() => child.kill("SIGINT"), SMART_STOP_MS);
            const immediate = setTimeout(() => child.kill("SIGQUIT"), STOP_TIMEOUT_MS);
            fast.unref();
            immediate.unref();
            child.once("exit", () => {
              clearTimeout(fast);
              clearTimeout(immediate);
              done();
            });
          });
        }
        process.off("exit", onExit);
        if (options.ephemeral) await placement.remove();
      })();
      return stopping;
    },
  };
}
