import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Generated secrets of the embedded default, kept in `<dataDir>/secrets.json` (mode 0600). */
export interface DataDirSecrets {
  /** Superuser password of the embedded PostgreSQL. */
  postgresPassword: string;
  /** Password of the runtime login role the gateway connects as. */
  runtimePassword: string;
  /** The admin key generated on first start when CYBERNETIC_ADMIN_KEY is not set. */
  adminKey?: string;
}

const SECRETS_FILE = "secrets.json";

/**
 * Creates the data directory. It is private to the user (0700); when running as root it is 0711 so the
 * unprivileged `postgres` user that embedded PostgreSQL runs as can reach its own subfolder (it still
 * cannot list or read anything else).
 */
export async function prepareDataDir(dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  await chmod(dataDir, isRoot ? 0o711 : 0o700);
}

/** Reads the secrets file, or undefined when there is none yet. */
export async function readSecrets(dataDir: string): Promise<DataDirSecrets | undefined> {
  try {
    return JSON.parse(await readFile(join(dataDir, SECRETS_FILE), "utf8")) as DataDirSecrets;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read ${join(dataDir, SECRETS_FILE)}: ${(error as Error).message}`);
  }
}

/** Writes the secrets file atomically with mode 0600. */
export async function writeSecrets(dataDir: string, secrets: DataDirSecrets): Promise<void> {
  const path = join(dataDir, SECRETS_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  await rename(temp, path);
}

/** The secrets, generating (and persisting) any that are missing. */
export async function loadOrCreateSecrets(dataDir: string): Promise<DataDirSecrets> {
  const existing = await readSecrets(dataDir);
  if (existing?.postgresPassword && existing.runtimePassword) return existing;
  const secrets: DataDirSecrets = {
    ...existing,
    postgresPassword: existing?.postgresPassword ?? randomBytes(24).toString("base64url"),
    runtimePassword: existing?.runtimePassword ?? randomBytes(24).toString("base64url"),
  };
  await writeSecrets(dataDir, secrets);
  return secrets;
}
