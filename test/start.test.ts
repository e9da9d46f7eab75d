/**
 * `pnpm start` as a new user runs it: through pnpm, in its own process group like a terminal's
 * foreground job, as root from a folder only root may enter; stopped with one Ctrl-C sent to the whole
 * group, as a terminal does.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readlink, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../packages/gateway/src/index.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** pnpm itself (the tests run through `pnpm exec vitest`, which puts it on PATH). */
function pnpmBinary(): string {
  try {
    return execFileSync("sh", ["-c", "command -v pnpm"], { encoding: "utf8" }).trim();
  } catch {
    throw new Error("pnpm is not on PATH: run the tests with `npx pnpm@12.4.2 exec vitest run`");
  }
}

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
}

function start(args: string[], env: Record<string, string>): Started {
  const child = spawn(args[0] as string, args.slice(1), {
    cwd: ROOT,
    detached: true, // its own process group, as a terminal's foreground job
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, timeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const match = err.match(pattern);
        if (match) return match;
        if (child.exitCode !== null || Date.now() > until)
          throw new Error(`no ${pattern}; exit ${child.exitCode}\nstderr:\n${err}\nstdout:\n${out}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
}

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

function killGroup(started: Started, signal: NodeJS.Signals) {
  if (started.child.pid && started.child.exitCode === null) {
    try {
      process.kill(-started.child.pid, signal);
    } catch {
      // already gone
    }
  }
}

/** Structured log lines at warn level or above, and anything in stderr that looks like an error. */
function problems(started: Started): string[] {
  const logged = started
    .stdout()
    .split("\n")
    .filter(Boolean)
    .filter((line) => {
      try {
        const level = (JSON.parse(line) as { level: string | number }).level;
        return level === "error" || level === "fatal" || (typeof level === "number" && level >= 50);
      } catch {
        return true; // not a log line: unexpected output
      }
    });
  const printed = started
    .stderr()
    .split("\n")
    .filter((line) => /error|ELIFECYCLE|^\s+at |again, exiting/i.test(line));
  return [...logged, ...printed];
}

/** Runs scripts/build-if-stale.mjs in a child process; resolves with the packages it built. */
function buildIfStale(): string[] {
  const script =
    'const { buildIfStale } = await import("./scripts/build-if-stale.mjs"); console.log(JSON.stringify(await buildIfStale({ print: () => {} })));';
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: ROOT,
    encoding: "utf8",
  });
  return JSON.parse(out) as string[];
}

describe("build before start", () => {
  it("builds only the packages whose sources changed, and swaps the new dist in by rename", async () => {
    buildIfStale();
    expect(buildIfStale()).toEqual([]);
    const gateway = await stat(join(ROOT, "packages", "gateway", "dist", "index.js"));
    const clientIndex = join(ROOT, "packages", "client", "src", "index.ts");
    // A changed modification time makes the package stale. It is set one second into the past, not to
    // now: other test files (test/dist.test.ts) run beside this one and check that no source is newer
    // than its dist, which a source touched to now would be until the rebuild below is done.
    const { mtime } = await stat(clientIndex);
    const earlier = new Date(mtime.getTime() - 1000);
    await utimes(clientIndex, earlier, earlier);
    expect(buildIfStale()).toEqual(["@cybernetic/client"]);
    expect((await stat(join(ROOT, "packages", "gateway", "dist", "index.js"))).ino).toBe(gateway.ino);
    expect(existsSync(join(ROOT, "packages", "client", "dist", "index.js"))).toBe(true);
    expect(buildIfStale()).toEqual([]);
  }, 300_000);
});

describe("pnpm cybernetic", () => {
  it("runs the CLI from the repository root, with --help on every command", () => {
    const run = (args: string[]) =>
      execFileSync(pnpmBinary(), ["--silent", "cybernetic", ...args], { cwd: ROOT, encoding: "utf8" });
    expect(run(["--help"])).toContain("tenant key <slug>");
    for (const command of ["serve", "worker", "migrate", "tenant"]) {
      expect(run([command, "--help"])).toContain(`cybernetic ${command}`);
    }
    expect(run(["--version"]).trim()).toMatch(/^\d+\.\d+\.\d+/);
  }, 120_000);
});

describe("pnpm start", () => {
  it("as root from a 0700 folder: starts, and one Ctrl-C to the process group stops it gracefully with exit 0", async () => {
    const folder = await mkdtemp(join(tmpdir(), "cybernetic-start-"));
    cleanups.push(() => rm(folder, { recursive: true, force: true }));
    expect((await stat(folder)).mode & 0o777).toBe(0o700);
    const dataDir = join(folder, ".cybernetic");
    const port = await freePort();
    const started = start([pnpmBinary(), "start"], { CYBERNETIC_DATA_DIR: dataDir, PORT: String(port) });
    cleanups.push(async () => killGroup(started, "SIGKILL"));
    await started.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 200_000);
    const banner = started.stderr();
    expect(banner).toContain(`kept in ${dataDir}/secrets.json`);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    const pgData = await readlink(join(dataDir, "postgres")).catch(() => join(dataDir, "postgres"));
    cleanups.push(() => rm(pgData, { recursive: true, force: true }));
    expect(existsSync(join(pgData, "postmaster.pid"))).toBe(true);

    process.kill(-(started.child.pid as number), "SIGINT"); // what a terminal's Ctrl-C does
    expect(await started.exited, `${started.stderr()}\n${started.stdout()}`).toEqual({
      code: 0,
      signal: null,
    });
    expect(problems(started)).toEqual([]);
    const messages = started
      .stdout()
      .split("\n")
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { msg: string }).msg);
    const order = ["shutting down", "workers stopped", "stopped"].map((m) => messages.indexOf(m));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // PostgreSQL was stopped too (by us, last), not left running.
    expect(existsSync(join(pgData, "postmaster.pid"))).toBe(false);

    // A second start reuses the keys and says where the admin key is and how to get a tenant key.
    const again = start([pnpmBinary(), "start"], { CYBERNETIC_DATA_DIR: dataDir, PORT: String(port) });
    cleanups.push(async () => killGroup(again, "SIGKILL"));
    await again.waitFor(/listening on/, 120_000);
    expect(again.stderr()).not.toContain("shown once");
    expect(again.stderr()).toContain(`admin key:  in ${dataDir}/secrets.json`);
    expect(again.stderr()).toContain("pnpm cybernetic tenant key default");

    // A third, on the same port while the second runs: one line naming the port and PORT=, and the
    // running server's files are left alone.
    const gatewayDist = join(ROOT, "packages", "gateway", "dist", "index.js");
    const before = await stat(gatewayDist);
    const third = start([pnpmBinary(), "start"], { CYBERNETIC_DATA_DIR: dataDir, PORT: String(port) });
    cleanups.push(async () => killGroup(third, "SIGKILL"));
    const { code } = await third.exited;
    expect(code).not.toBe(0);
    // pnpm adds its own "[ELIFECYCLE] Command failed with exit code 1." after ours.
    const lines = third
      .stderr()
      .trim()
      .split("\n")
      .filter((l) => !l.startsWith("[ELIFECYCLE]"));
    expect(lines.at(-1)).toMatch(new RegExp(`^cybernetic: port ${port} is already in use.*PORT=`));
    expect(third.stderr()).not.toMatch(/^\s+at /m);
    expect(third.stdout()).not.toContain("workers started"); // it stopped before starting anything
    expect((await stat(gatewayDist)).ino).toBe(before.ino);
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);

    process.kill(-(again.child.pid as number), "SIGINT");
    expect((await again.exited).code).toBe(0);
    expect(problems(again)).toEqual([]);
  }, 400_000);
});
