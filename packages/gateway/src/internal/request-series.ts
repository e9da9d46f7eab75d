/**
 * Request counts and durations kept in plain arrays, one series per (method, route template, status
 * class), and exposed to prom-client as two metrics (a counter and a histogram) built at scrape time.
 *
 * Recording a request is then a few array writes. prom-client's own `Histogram#observe` validates and
 * hashes the labels on every call, which cost about 5% of the gateway's `/health` throughput.
 */
type Labels = { method: string; route: string; status_class: string };

interface ExportedValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** What prom-client's registry reads from a metric at scrape time. */
interface Exported {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: ExportedValue[];
}

/** One series: counts per bucket (not cumulative), sum and count. */
export class Series {
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.buckets = new Float64Array(bounds.length);
  }

  observe(seconds: number): void {
    this.count++;
    this.sum += seconds;
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        (this.buckets as Float64Array)[i] = (this.buckets[i] as number) + 1;
        return;
      }
    }
  }
}

/** All series, and the two prom-client-compatible metrics reading them. */
export class RequestSeries {
  readonly #series: Series[] = [];

  constructor(readonly bounds: readonly number[]) {}

  /** A new series (the caller keeps it and records into it). */
  create(labels: Labels): Series {
    const series = new Series(labels, this.bounds);
    this.#series.push(series);
    return series;
  }

  /** `name` as a counter of requests. */
  counter(name: string, help: string) {
    const all = this.#series;
    return {
      name,
      help,
      type: "counter" as const,
      aggregator: "sum" as const,
      get(): Exported {
        const values = all
          .filter((s) => s.count > 0)
          .map((s) => ({ labels: { ...s.labels }, value: s.count }));
        return { name, help, type: "counter", aggregator: "sum", values };
      },
    };
  }

  /** `name` as a histogram of durations. */
  histogram(name: string, help: string) {
    const all = this.#series;
    const bounds = this.bounds;
    return {
      name,
      help,
      type: "histogram" as const,
      aggregator: "sum" as const,
      get(): Exported {
        const values: ExportedValue[] = [];
        for (const s of all) {
          if (s.count === 0) continue;
          let cumulative = 0;
          for (let i = 0; i < bounds.length; i++) {
            cumulative += s.buckets[i] as number;
            values.push({
              metricName: `${name}_bucket`,
              labels: { ...s.labels, le: bounds[i] as number },
              value: cumulative,
            });
          }
          values.push({ metricName: `${name}_bucket`, labels: { ...s.labels, le: "+Inf" }, value: s.count });
          values.push({ metricName: `${name}_sum`, labels: { ...s.labels }, value: s.sum });
          values.push({ metricName: `${name}_count`, labels: { ...s.labels }, value: s.count });
        }
        return { name, help, type: "histogram", aggregator: "sum", values };
      },
    };
  }
}
