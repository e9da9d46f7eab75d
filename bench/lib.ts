/**
 * Shared helpers for the benchmarks. Every benchmark measures its baseline in the same run and reports
 * ratios against it; nothing here asserts a timing.
 */

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
