/**
 * Runs the real `cybernetic` CLI in a child process: the built one (`packages/gateway/dist/cli.js`), as
 * `npx cybernetic` runs it. The child imports the other packages' dist in any case, and starting from
 * dist spares each spawn tsx's compile of the gateway's sources (about 2 s of CPU a spawn, dozens of
 * spawns a run). A dist older than the sources fails the test at once, naming the fix.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const CLI = "packages/gateway/dist/cli.js";

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

let checked = false;
/** Throws unless the dist of the gateway and of what it imports is at least as new as their sources. */
export function assertBuilt(): void {
  if (checked) return;
  for (const name of ["core", "storage", "workers", "gateway"]) {
    const dist = join(REPO_ROOT, "packages", name, "dist");
    let built = 0;
    try {
      built = newest(dist);
    } catch {
      // missing: reported below
    }
    if (built < newest(join(REPO_ROOT, "packages", name, "src")))
      throw new Error(`packages/${name}/dist is missing or older than its src: run \`pnpm build\` first`);
  }
  checked = true;
}

/** A clean environment: only what the CLI needs, plus `vars` (nothing leaks in from the test runner). */
export function cliEnv(vars: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? "/tmp",
    LOG_LEVEL: "warn",
  };
  return { ...env, ...vars };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to completion. */
export function runCli(args: string[], vars: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    assertBuilt();
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: REPO_ROOT,
      env: cliEnv(vars),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running CLI process (`serve`), with its output so far. */
export interface RunningCli {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in stderr (the human-facing banner goes there). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startCli(args: string[], vars: Record<string, string>): RunningCli {
  assertBuilt();
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO_ROOT,
    env: cliEnv(vars),
  });
  let stdout = "";
  let stderr = "";
  const waiters: (() => void)[] = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout?.on("data", (c: Buffer) => {
    stdout += c.toString();
    notify();
  });
  child.stderr?.on("data", (c: Buffer) => {
    stderr += c.toString();
    notify();
  });
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    output: () => ({ stdout, stderr }),
    waitFor(pattern, timeoutMs = 90_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`no ${pattern} within ${timeoutMs} ms; stderr:\n${stderr}\nstdout:\n${stdout}`)),
          timeoutMs,
        );
        const check = () => {
          const match = stderr.match(pattern);
          if (match) {
            clearTimeout(timer);
            resolve(match);
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`exited with ${child.exitCode}; stderr:\n${stderr}\nstdout:\n${stdout}`));
          } else waiters.push(check);
        };
        check();
        exited.then(() => check());
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
