/**
 * Shared helpers for the benchmarks. Every benchmark measures its baseline in the same run and reports
 * ratios against it; nothing here asserts a timing.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";

/** One line of a benchmark's report. */
export interface BenchRow {
  /** What was measured, e.g. "throughput up (MB/s)". */
  metric: string;
  /** Our implementation's figure. */
  value: number;
  /** The baseline's figure, measured in the same run; omitted when there is none. */
  baseline?: number;
  /** value / baseline, or the inverse where lower is better; computed by `row()`. */
  ratio?: number;
  unit: string;
  /** The target, as text (e.g. ">= 0.9x"). */
  target?: string;
  note?: string;
}

/** What a benchmark module's default export returns. */
export interface BenchResult {
  name: string;
  rows: BenchRow[];
  /** Free-form facts about the run (sizes, concurrency, versions). */
  context?: Record<string, unknown>;
}

/** A benchmark module: `export default async function run(): Promise<BenchResult>`. */
export type Bench = () => Promise<BenchResult>;

/**
 * Builds a row with its ratio. `higherIsBetter` decides the direction: throughput ratios are
 * value / baseline, latency ratios are value / baseline too but read as "x slower".
 */
export function row(
  metric: string,
  value: number,
  baseline: number | undefined,
  unit: string,
  extra: Partial<BenchRow> = {},
): BenchRow {
  const ratio = baseline === undefined || baseline === 0 ? undefined : value / baseline;
  return {
    metric,
    value,
    unit,
    ...(baseline === undefined ? {} : { baseline }),
    ...(ratio === undefined ? {} : { ratio }),
    ...extra,
  };
}

/** Percentile of a list of numbers (nearest rank); the list need not be sorted. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** High-resolution time in milliseconds. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Samples the process's RSS every `intervalMs` while `fn` runs and returns the peak growth over the
 * RSS measured just before it started, in bytes.
 */
export async function measurePeakRss<T>(
  fn: () => Promise<T>,
  intervalMs = 10,
): Promise<{ result: T; peakGrowth: number }> {
  globalThis.gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, intervalMs);
  try {
    const result = await fn();
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
    return { result, peakGrowth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

let taskset: boolean | undefined;
/** Whether `taskset` can pin a process to a CPU here (checked once). */
export function hasTaskset(): boolean {
  if (taskset === undefined) {
    try {
      execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
      taskset = true;
    } catch {
      taskset = false;
    }
  }
  return taskset;
}

/** `node <args>`, pinned to `cpu` with taskset when `pin` and taskset is available. */
export function pinnedNode(cpu: number, args: string[], pin = true): [string, string[]] {
  return pin && hasTaskset()
    ? ["taskset", ["-c", String(cpu), process.execPath, ...args]]
    : [process.execPath, args];
}

/** Spawns a server child and resolves with the URL it prints as `READY <url>`. */
export async function startReadyChild(
  command: string,
  args: string[],
  env: Record<string, string>,
  label: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`${label} exited with ${code} before it was ready`)));
  });
  return { url, child };
}

/** SIGTERMs a child and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}
