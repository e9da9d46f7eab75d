/**
 * Runs the benchmarks: `pnpm bench` runs all of them, `pnpm bench rls storage` a selection.
 * Prints one table per benchmark and writes `bench/results/<name>-<timestamp>.json`.
 */
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Bench, BenchResult } from "./lib.ts";

const here = fileURLToPath(new URL(".", import.meta.url));

async function available(): Promise<string[]> {
  const entries = await readdir(here, { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory() && e.name !== "results")
    .map((e) => e.name)
    .sort();
}

function fmt(n: number | undefined): string {
  if (n === undefined || Number.isNaN(n)) return "";
  if (Math.abs(n) >= 100) return n.toFixed(0);
  if (Math.abs(n) >= 1) return n.toFixed(2);
  return n.toFixed(3);
}

function print(result: BenchResult): void {
  console.log(`\n## ${result.name}`);
  const m = result.machine;
  if (m) {
    console.log(
      `machine: ${m.cores} cores (${m.cpu}), Node ${m.node}${m.postgres ? `, PostgreSQL ${m.postgres}` : ""}, load average ${m.loadAverage}`,
    );
  }
  if (result.context) console.log(JSON.stringify(result.context));
  console.table(
    result.rows.map((r) => ({
      metric: r.metric,
      value: fmt(r.value),
      vs: r.peer ?? "",
      baseline: fmt(r.baseline),
      ratio: r.ratio === undefined ? "" : `${fmt(r.ratio)}x`,
      unit: r.unit,
      target: r.target ?? "",
      note: r.note ?? "",
    })),
  );
}

const all = await available();
const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`unknown benchmark(s): ${unknown.join(", ")}; available: ${all.join(", ")}`);
  process.exit(2);
}
// The gateway's server children run the built packages, as users do (lib.ts, BUILT_PACKAGES_ENV): build
// whatever changed since the last build first.
// @ts-expect-error: a plain .mjs script without types
const { buildIfStale } = (await import("../scripts/build-if-stale.mjs")) as {
  buildIfStale(): Promise<string[]>;
};
await buildIfStale();
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
for (const name of wanted.length > 0 ? wanted : all) {
  const mod = (await import(pathToFileURL(`${here}${name}/index.ts`).href)) as { default: Bench };
  const result = await mod.default();
  print(result);
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  await writeFile(
    new URL(`./results/${name}-${stamp}.json`, import.meta.url),
    `${JSON.stringify(result, null, 2)}\n`,
  );
}
