/**
 * `tuneRuntimeForServing`: V8's allocation-site pretenuring off for a request server. The effect is
 * observed in a child Node process (the built package, as `cybernetic serve` runs it) through V8's own
 * `--trace-pretenuring-statistics`: a workload whose objects mostly survive makes V8 decide to pretenure
 * their allocation site, unless the tuning ran first.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { hasPretenuringFlag, tuneRuntimeForServing } from "../src/runtime-tuning.ts";
import { assertBuilt, REPO_ROOT } from "./helpers/run-cli.ts";

const GATEWAY = pathToFileURL(join(REPO_ROOT, "packages/gateway/dist/index.js")).href;

// One allocation site whose objects outlive several scavenges: V8 pretenures such a site.
const CHILD = `
const { tuneRuntimeForServing } = await import(${JSON.stringify(GATEWAY)});
if (process.env.TUNE === "1") console.log("TUNING " + JSON.stringify(tuneRuntimeForServing()));
console.log("WORKLOAD");
const keep = [];
function make(i) { return { i, list: [i], text: "x" + i }; }
for (let round = 0; round < 50; round++) {
  for (let i = 0; i < 20000; i++) keep.push(make(i));
  if (keep.length > 200000) keep.length = 0;
}
console.log("DONE " + keep.length);
`;

/** Runs the workload in a child Node; returns the tuning it reported and V8's decisions during the workload. */
function runChild(
  tune: boolean,
  nodeFlags: string[] = [],
): Promise<{ tuning: unknown; decisions: string[]; code: number | null }> {
  assertBuilt();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...nodeFlags, "--trace-pretenuring-statistics", "--input-type=module", "-e", CHILD],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? "", TUNE: tune ? "1" : "0" } },
    );
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.resume();
    child.on("error", reject);
    child.on("close", (code) => {
      const tuningLine = /^TUNING (.*)$/m.exec(stdout);
      // V8 prints to the same stdout, synchronously: only decisions made after the marker count (loading
      // the package makes its own).
      const workload = stdout.slice(stdout.indexOf("WORKLOAD\n"));
      resolve({
        tuning: tuningLine ? JSON.parse(tuningLine[1] as string) : undefined,
        decisions: workload.split("\n").filter((line) => /=> (maybe )?tenure\s*$/.test(line)),
        code,
      });
    });
  });
}

describe("tuneRuntimeForServing", () => {
  it("recognises an explicit pretenuring flag on the node command line, in either spelling", () => {
    expect(hasPretenuringFlag(["--allocation-site-pretenuring"])).toBe(true);
    expect(hasPretenuringFlag(["--no-allocation-site-pretenuring"])).toBe(true);
    expect(hasPretenuringFlag(["--allocation_site_pretenuring"])).toBe(true);
    expect(hasPretenuringFlag(["--import", "tsx", "--max-old-space-size=512"])).toBe(false);
    expect(hasPretenuringFlag(["--allocation-site-pretenuring-extra"])).toBe(false);
    expect(hasPretenuringFlag([])).toBe(false);
  });

  it("keeps an explicit flag and changes nothing then", () => {
    expect(tuneRuntimeForServing(["--allocation-site-pretenuring"])).toEqual({ pretenuring: "kept" });
  });

  it("without it, V8 pretenures an allocation site whose objects survive (the control)", async () => {
    const result = await runChild(false);
    expect(result.code).toBe(0);
    expect(result.decisions.length).toBeGreaterThan(0);
  });

  it("after it, V8 makes no pretenuring decision for the same workload", async () => {
    const result = await runChild(true);
    expect(result.code).toBe(0);
    expect(result.tuning).toEqual({ pretenuring: "off" });
    expect(result.decisions).toEqual([]);
  });

  it("an explicit --allocation-site-pretenuring wins: V8 goes on pretenuring", async () => {
    const result = await runChild(true, ["--allocation-site-pretenuring"]);
    expect(result.code).toBe(0);
    expect(result.tuning).toEqual({ pretenuring: "kept" });
    expect(result.decisions.length).toBeGreaterThan(0);
  });
});
