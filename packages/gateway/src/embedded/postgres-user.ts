import { execFile } from "node:child_process";
import { realpath, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { promisify } from "node:util";
import { EmbeddedPostgresError } from "./embedded-postgres-error.js";

const run = promisify(execFile);

/** The account PostgreSQL runs as when we are root (PostgreSQL refuses to run as root). */
export interface PostgresAccount {
  uid: number;
  gid: number;
}

const ACCOUNT = "postgres";

async function lookup(): Promise<PostgresAccount | undefined> {
  try {
    const [uid, gid] = await Promise.all([run("id", ["-u", ACCOUNT]), run("id", ["-g", ACCOUNT])]);
    return { uid: Number.parseInt(uid.stdout, 10), gid: Number.parseInt(gid.stdout, 10) };
  } catch {
    return undefined;
  }
}

/** True when this process runs as root. */
export function runningAsRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/**
 * The `postgres` system account, created (no home, no login shell) when it does not exist yet. Only
 * called as root.
 *
 * @throws EmbeddedPostgresError when there is none and it cannot be created (one line saying what to do).
 */
export async function postgresAccount(): Promise<PostgresAccount> {
  const found = await lookup();
  if (found) return found;
  try {
    await run("groupadd", ["--system", ACCOUNT]).catch(() => undefined); // may exist on its own
    await run("useradd", [
      "--system",
      "--no-create-home",
      "--gid",
      ACCOUNT,
      "--shell",
      "/bin/false",
      ACCOUNT,
    ]);
  } catch {
    // reported below
  }
  const created = await lookup();
  if (created) return created;
  throw new EmbeddedPostgresError(
    "embedded PostgreSQL cannot run as root and there is no `postgres` user to run it as (useradd failed): " +
      "create one (`useradd --system postgres`), run as another user, or set DATABASE_URL",
  );
}

/**
 * Whether `account` can reach `path` (search permission on every directory from `/` down to it, after
 * resolving symbolic links; a part that does not exist yet is judged by its nearest existing ancestor),
 * from the owner/group/other bits. Supplementary groups are ignored, so the answer errs towards "no".
 *
 * @example
 * ```ts
 * await reachableBy("/root/app/node_modules", { uid: 101, gid: 104 }); // false: /root is 0700
 * ```
 */
export async function reachableBy(path: string, account: PostgresAccount): Promise<boolean> {
  let existing = resolve(path);
  for (;;) {
    try {
      existing = await realpath(existing);
      break;
    } catch {
      const parent = dirname(existing);
      if (parent === existing) return false;
      existing = parent;
    }
  }
  for (let dir = existing; ; dir = dirname(dir)) {
    const { mode, uid, gid } = await stat(dir);
    const bit = uid === account.uid ? 0o100 : gid === account.gid ? 0o010 : 0o001;
    if ((mode & bit) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}
