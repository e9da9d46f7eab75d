import { setFlagsFromString } from "node:v8";

/** What `tuneRuntimeForServing` did. */
export interface RuntimeTuning {
  /**
   * `off`: V8's allocation-site pretenuring is now off. `kept`: the process was started with an explicit
   * `--allocation-site-pretenuring` (or `--no-…`, already off), which wins.
   */
  pretenuring: "off" | "kept";
}

const PRETENURING_FLAG = /^--(no-)?allocation[-_]site[-_]pretenuring(=|$)/;

/**
 * Whether the process was started with an explicit pretenuring flag (`node --allocation-site-pretenuring …`;
 * Node does not accept V8 flags like this one in `NODE_OPTIONS`).
 */
export function hasPretenuringFlag(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => PRETENURING_FLAG.test(arg));
}

/**
 * Tunes V8 for a long-running request server. `cybernetic serve` and `cybernetic worker` call it first
 * thing; a host application that serves the gateway itself (`createGateway(…).serve()`) may call it at
 * startup. It changes process-wide V8 settings, so the gateway never calls it on its own.
 *
 * What it does: turns off V8's allocation-site pretenuring. V8 watches where objects are allocated and,
 * when most objects of one site are still alive at a young-generation collection, starts allocating that
 * site's objects straight into the old generation. Under load, sites that build per-request objects (on
 * the path that parses a list read's rows, for one) can be judged long-lived that way, and then never are:
 * each such object dies in the old generation, and until the next full collection it keeps every young
 * object it points to alive, so each scavenge copies them again. On a 50-connection list-read benchmark
 * that made every scavenge copy about 2 MB instead of 0.5 MB and pause 8 ms instead of 2 ms
 * (docs/benchmarks.md).
 * Without pretenuring those objects are allocated young and die young; the cost is that objects that do
 * live long are copied once more before they are promoted.
 *
 * An explicit `--allocation-site-pretenuring` (or its `--no-` form) on the `node` command line wins.
 * Safe to call more than once.
 *
 * @example
 * ```ts
 * import { createGateway, tuneRuntimeForServing } from "@cybernetic/gateway";
 * tuneRuntimeForServing();
 * const served = await createGateway({ platform, logger }).serve({ port: 8080 });
 * ```
 */
export function tuneRuntimeForServing(execArgv: readonly string[] = process.execArgv): RuntimeTuning {
  if (hasPretenuringFlag(execArgv)) return { pretenuring: "kept" };
  setFlagsFromString("--no-allocation-site-pretenuring");
  return { pretenuring: "off" };
}
