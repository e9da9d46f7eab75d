// What users get is what we test: installs the packed tarballs of every package (as `pnpm pack` made them)
// into a scratch app with npm, the way a user's project installs them (third-party dependencies from the
// registry, through npm's cache: --prefer-offline), imports every entry point, and runs a smoke test that
// uses each package through its public API only: the config and the SQL of core, a storage round trip, the
// workers' job list, a real gateway answering /health and an unauthenticated request, the client reading
// that answer as a typed error, and the `cybernetic` binary.
//
//   node scripts/smoke-packed.mjs <folder with the .tgz files>       (scripts/check-packages.mjs calls it)
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

/** The smoke program, run inside the scratch app (plain ESM, public exports only). */
const SMOKE = `
import assert from "node:assert/strict";
import * as core from "@cybernetic/core";
import * as contract from "@cybernetic/core/contract";
import * as storage from "@cybernetic/storage";
import * as workers from "@cybernetic/workers";
import * as gateway from "@cybernetic/gateway";
import * as client from "@cybernetic/client";

// core: configuration, the migrations' SQL, a pool that is only opened on use, the contract
const config = core.parseDatabaseConfig({ url: "postgres://app:secret@127.0.0.1:1/cybernetic" });
assert.equal(config.statementTimeoutMs, 30000);
assert.match(core.migrationSql(), /force row level security/i);
assert.ok(contract.eventTypes.includes("episode.analyzed"));
const db = core.createDatabase(config);
assert.equal(core.databasePooler(db), "none");

// storage: a round trip through the memory adapter, and the S3 adapter's SDK is there (the gateway brings it)
const memory = await storage.createStorage({ driver: "memory" });
await memory.put("smoke/hello.txt", "hello", { contentType: "text/plain" });
const got = await memory.get("smoke/hello.txt");
let text = "";
for await (const chunk of got.body) text += chunk;
assert.equal(text, "hello");
const s3 = await storage.createStorage({ driver: "s3", bucket: "smoke", endpoint: "http://127.0.0.1:1", forcePathStyle: true, credentials: { accessKeyId: "a", secretAccessKey: "b" } });
await s3.close?.();

// workers: the built-in jobs
assert.ok(workers.builtInJobs().some((job) => job.name === "episode.analyze"));

// gateway: a real server (no database needed for these two answers)
const platform = core.createPlatform({ db, storage: memory });
const app = gateway.createGateway({ platform, storage: memory, logger: gateway.createLogger({ level: "silent" }) });
const served = await app.serve({ port: 0, host: "127.0.0.1" });
try {
  const health = await fetch(served.url + "/health");
  assert.equal(health.status, 200);
  // client: the same server through the typed client; no key is a typed 401
  const api = client.createClient({ baseUrl: served.url, retry: false });
  await assert.rejects(api.episodes.list(), (error) => {
    assert.ok(error instanceof client.CyberneticApiError);
    assert.equal(error.status, 401);
    return true;
  });
} finally {
  await served.close({ timeoutMs: 2000 });
  await memory.close?.();
  await db.destroy();
}
console.log("smoke ok");
`;

/**
 * Installs `tarballs` into a scratch app and runs the smoke program and `cybernetic --version`; throws with
 * npm's or the program's output on failure. Returns the seconds each step took.
 */
export function smokePacked(tarballs) {
  const app = mkdtempSync(join(tmpdir(), "cybernetic-smoke-"));
  const timings = {};
  const time = (name, fn) => {
    const started = performance.now();
    const result = fn();
    timings[name] = Math.round((performance.now() - started) / 100) / 10;
    return result;
  };
  try {
    // The name comes from the file's own name (`cybernetic-core-0.1.0.tgz`), never from the folder it is in:
    // a temporary folder such as `cybernetic-packs-7xYz…` would otherwise read as a package called "packs".
    const dependencies = Object.fromEntries(
      tarballs.map((file) => {
        const name = /^cybernetic-([a-z]+)-\d[^/]*\.tgz$/.exec(basename(file))?.[1];
        if (!name)
          throw new Error(`${file} is not a packed @cybernetic package (cybernetic-<name>-<version>.tgz)`);
        return [`@cybernetic/${name}`, `file:${file}`];
      }),
    );
    if (Object.keys(dependencies).length !== tarballs.length) {
      throw new Error(`two tarballs name the same package: ${tarballs.join(", ")}`);
    }
    writeFileSync(
      join(app, "package.json"),
      // The packages depend on each other by version; the overrides point those at the tarballs too.
      JSON.stringify(
        { name: "cybernetic-smoke", private: true, type: "module", dependencies, overrides: dependencies },
        null,
        2,
      ),
    );
    writeFileSync(join(app, "smoke.mjs"), SMOKE);
    const run = (command, args) =>
      execFileSync(command, args, { cwd: app, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    // The embedded PostgreSQL (an optional dependency of the gateway) is left out: nothing here runs it.
    time("install", () =>
      run("npm", [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        "--omit=optional",
        "--loglevel=error",
      ]),
    );
    const out = time("smoke", () => run(process.execPath, ["smoke.mjs"]));
    if (!out.includes("smoke ok")) throw new Error(`the smoke program printed:\n${out}`);
    const version = time("bin", () =>
      run(join(app, "node_modules", ".bin", "cybernetic"), ["--version"]),
    ).trim();
    if (!/^\d+\.\d+\.\d+/.test(version)) throw new Error(`cybernetic --version printed ${version}`);
    return timings;
  } catch (error) {
    throw new Error(`${error.message}\n${error.stdout ?? ""}${error.stderr ?? ""}`);
  } finally {
    rmSync(app, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node scripts/smoke-packed.mjs <folder with the packed .tgz files>");
    process.exit(2);
  }
  const tarballs = readdirSync(dir)
    .filter((f) => f.endsWith(".tgz"))
    .map((f) => join(dir, f));
  console.log(JSON.stringify(smokePacked(tarballs)));
}
