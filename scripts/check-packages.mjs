#!/usr/bin/env node
// Packs every package as it would be published (`pnpm pack`: workspace ranges replaced, only `files`)
// and runs publint and @arethetypeswrong/cli (ESM-only profile: the packages ship ESM alone) on each
// tarball; then installs the tarballs into a scratch app with npm and runs a smoke test there
// (scripts/smoke-packed.mjs), and checks the Dockerfile's recipe: `pnpm deploy --prod` of the gateway
// gives a `cybernetic` that runs, with the S3 SDK it needs. Run after `pnpm build`; CI runs it as a
// step. Exits 1 when any check fails.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { smokePacked } from "./smoke-packed.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const bin = (name) => join(root, "node_modules", ".bin", name);
// `pnpm check:packages` sets npm_execpath to the pnpm that runs it: a JavaScript entry point from some
// installs, a native executable from others (pnpm 12 from npm). Run directly, fall back to the pinned pnpm.
const execpath = process.env.npm_execpath ?? "";
const pnpm = /(^|\/)pnpm[^/]*$/.test(execpath) ? execpath : undefined;
const packages = readdirSync(join(root, "packages"));
const out = mkdtempSync(join(tmpdir(), "cybernetic-packs-"));
let failed = 0;
const tarballs = [];
try {
  for (const name of packages) {
    const dir = join(root, "packages", name);
    const run = (command, args) => execFileSync(command, args, { cwd: dir, stdio: "pipe", encoding: "utf8" });
    const before = new Set(readdirSync(out));
    if (pnpm && /\.[cm]?js$/.test(pnpm)) run(process.execPath, [pnpm, "pack", "--pack-destination", out]);
    else if (pnpm) run(pnpm, ["pack", "--pack-destination", out]);
    else run("npx", ["--yes", "pnpm@12.4.2", "pack", "--pack-destination", out]);
    const tarball = join(
      out,
      readdirSync(out).find((f) => !before.has(f)),
    );
    tarballs.push(tarball);
    for (const [tool, args] of [
      ["publint", ["--strict", tarball]],
      ["attw", ["--profile", "esm-only", "--format", "ascii", tarball]],
    ]) {
      try {
        run(bin(tool), args);
        console.log(`ok   ${tool} @cybernetic/${name}`);
      } catch (error) {
        failed++;
        console.log(`FAIL ${tool} @cybernetic/${name}\n${error.stdout ?? ""}${error.stderr ?? ""}`);
      }
    }
  }
  try {
    const timings = smokePacked(tarballs);
    console.log(`ok   the tarballs install with npm and pass the smoke test (${JSON.stringify(timings)} s)`);
  } catch (error) {
    failed++;
    console.log(`FAIL the packed tarballs' smoke test\n${error.message}`);
  }
  // The Dockerfile's build stage: the gateway and its production dependencies, nothing else.
  const deployed = join(out, "deploy");
  try {
    const pnpmArgs = ["--filter", "@cybernetic/gateway", "deploy", "--prod", "--no-optional", deployed];
    const opts = { cwd: root, stdio: "pipe", encoding: "utf8" };
    if (pnpm && /\.[cm]?js$/.test(pnpm)) execFileSync(process.execPath, [pnpm, ...pnpmArgs], opts);
    else if (pnpm) execFileSync(pnpm, pnpmArgs, opts);
    else execFileSync("npx", ["--yes", "pnpm@12.4.2", ...pnpmArgs], opts);
    const version = execFileSync(
      process.execPath,
      [join(deployed, "dist", "cli.js"), "--version"],
      opts,
    ).trim();
    // The S3 adapter loads the SDK from storage's own location, as it will in the image.
    execFileSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        'await import("@aws-sdk/client-s3"); await import("@aws-sdk/lib-storage");',
      ],
      { ...opts, cwd: join(deployed, "node_modules", "@cybernetic", "storage") },
    );
    console.log(
      `ok   pnpm deploy --prod of the gateway (the Dockerfile's recipe) runs: cybernetic ${version}`,
    );
  } catch (error) {
    failed++;
    console.log(
      `FAIL pnpm deploy --prod of the gateway\n${error.stdout ?? ""}${error.stderr ?? error.message}`,
    );
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
console.log(
  failed === 0
    ? "every package passes publint and attw, installs from its tarball and passes the smoke test"
    : `${failed} check(s) failed`,
);
process.exit(failed === 0 ? 0 : 1);
