/** Samples the process's RSS while `fn` runs; returns the peak growth over the RSS before it started. */
export async function measurePeakRssGrowth<T>(
  fn: () => Promise<T>,
  intervalMs = 5,
): Promise<{ result: T; peakGrowth: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const sample = () => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  };
  const timer = setInterval(sample, intervalMs);
  try {
    const result = await fn();
    sample();
    return { result, peakGrowth: peak - start };
  } finally {
    clearInterval(timer);
  }
}
