// Builds the workspace packages whose sources changed since their last build (and the packages that
// depend on them), for `pnpm start` and `pnpm cybernetic`. A package is fresh when the fingerprint of
// its inputs (path, size and mtime of every file under src/ except tests, its package.json, tsconfig.json
// and tsup.config.ts, and the shared tsconfig.base.json) equals the one written into dist/ by the build
// that made it. A stale package is built into a temporary folder that then replaces dist/ by rename, so a
// server running from dist/ never finds it emptied.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { readFile, rename, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const FINGERPRINT = ".source-fingerprint";

/** The workspace packages, each with the workspace packages it depends on. */
function workspacePackages() {
  const dir = join(ROOT, "packages");
  const found = new Map();
  for (const name of readdirSync(dir)) {
    const manifestPath = join(dir, name, "package.json");
    if (!existsSync(manifestPath)) continue;
    const manifest = JSON.parse(readFileSync(manifestPath, "utf8"));
    if (!manifest.scripts?.build) continue;
    const deps = { ...manifest.dependencies, ...manifest.devDependencies, ...manifest.peerDependencies };
    found.set(manifest.name, {
      name: manifest.name,
      dir: join(dir, name),
      deps: Object.keys(deps).filter((d) => String(deps[d]).startsWith("workspace:")),
    });
  }
  return found;
}

/** Dependencies first. */
function buildOrder(packages) {
  const order = [];
  const seen = new Set();
  const visit = (name) => {
    if (seen.has(name) || !packages.has(name)) return;
    seen.add(name);
    for (const dep of packages.get(name).deps) visit(dep);
    order.push(packages.get(name));
  };
  for (const name of [...packages.keys()].sort()) visit(name);
  return order;
}

function inputFiles(pkg) {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (!/\.test\.tsx?$/.test(entry.name)) files.push(path);
    }
  };
  walk(join(pkg.dir, "src"));
  for (const name of ["package.json", "tsconfig.json", "tsup.config.ts"]) {
    if (existsSync(join(pkg.dir, name))) files.push(join(pkg.dir, name));
  }
  files.push(join(ROOT, "tsconfig.base.json"));
  return files.sort();
}

function fingerprint(pkg) {
  const hash = createHash("sha256");
  for (const file of inputFiles(pkg)) {
    const { size, mtimeMs } = statSync(file);
    hash.update(`${relative(ROOT, file)}\0${size}\0${mtimeMs}\n`);
  }
  return hash.digest("hex");
}

async function builtFingerprint(pkg) {
  try {
    return (await readFile(join(pkg.dir, "dist", FINGERPRINT), "utf8")).trim();
  } catch {
    return undefined;
  }
}

function run(command, args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${signal ?? `exit ${code}`}\n${output}`)),
    );
  });
}

async function build(pkg, print) {
  const tsup = createRequire(join(ROOT, "package.json")).resolve("tsup/dist/cli-default.js");
  const temp = join(pkg.dir, `dist.build-${process.pid}`);
  const old = join(pkg.dir, `dist.old-${process.pid}`);
  const stamp = fingerprint(pkg); // before the build: an edit made while it runs leaves it stale
  try {
    await run(process.execPath, [tsup, "--out-dir", temp, "--silent"], pkg.dir);
    await writeFile(join(temp, FINGERPRINT), `${stamp}\n`);
    const dist = join(pkg.dir, "dist");
    if (existsSync(dist)) await rename(dist, old);
    await rename(temp, dist);
  } catch (error) {
    throw new Error(`building ${pkg.name} failed: ${error.message}`);
  } finally {
    await rm(temp, { recursive: true, force: true });
    await rm(old, { recursive: true, force: true });
  }
  print(`  built ${pkg.name}\n`);
}

/**
 * Builds what is stale; resolves with the names of the packages it built.
 *
 * @param {{ print?: (text: string) => void }} [options]
 * @returns {Promise<string[]>}
 */
export async function buildIfStale(options = {}) {
  const print = options.print ?? ((text) => process.stderr.write(text));
  const packages = workspacePackages();
  const rebuilt = new Set();
  for (const pkg of buildOrder(packages)) {
    const stale =
      pkg.deps.some((dep) => rebuilt.has(dep)) || (await builtFingerprint(pkg)) !== fingerprint(pkg);
    if (!stale) continue;
    if (rebuilt.size === 0) print("sources changed since the last build; building:\n");
    await build(pkg, print);
    rebuilt.add(pkg.name);
  }
  return [...rebuilt];
}
