import { describe, expect, it } from "vitest";
import {
  DEFAULT_DETECTOR,
  type DetectorState,
  type DetectorStep,
  detectChange,
  INITIAL_DETECTOR_STATE,
} from "./change-detector.js";

function feed(values: number[], params = DEFAULT_DETECTOR): { steps: DetectorStep[]; state: DetectorState } {
  let state: DetectorState = INITIAL_DETECTOR_STATE;
  const steps: DetectorStep[] = [];
  for (const x of values) {
    const { step, next } = detectChange(state, x, params);
    steps.push(step);
    state = next;
  }
  return { steps, state };
}

/** A deterministic pseudo-random normal series (LCG + Box–Muller), so the test never flakes. */
function noisy(count: number, level: number, sd: number, seed = 42): number[] {
  let s = seed;
  const uniform = () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return (s + 1) / (2 ** 31 + 1);
  };
  return Array.from({ length: count }, () => {
    const z = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    return level + sd * z;
  });
}

describe("the change detector, by hand", () => {
  // Defaults: α 0.3, β 0.05, k 3, two confirmations, a warm-up of ten.
  const warm = [10, 12, 11, 9, 13, 10, 12, 11, 9, 13];

  it("warm-up 10, 12, 11, 9, 13 twice: level 11, variance 20 / 9 = 2.2222 (σ 1.4907)", () => {
    const { steps, state } = feed(warm);
    expect(steps.every((s) => s.status === "warmup" && s.forecast === null)).toBe(true);
    expect(steps.map((s) => Number(s.smoothed.toFixed(3)))).toEqual([
      10, 11, 11, 10.5, 11, 10.833, 11, 11, 10.778, 11,
    ]);
    expect(state).toMatchObject({ n: 10, warm: [], level: 11, run: null });
    expect(state.variance).toBeCloseTo(20 / 9, 12);
  });

  it("11.5 is in the band 11 ± 3·1.4907 = [6.528, 15.472]: level 11 + 0.3·0.5 = 11.15, variance 0.95·2.2222 + 0.05·0.25 = 2.1236", () => {
    const { steps, state } = feed([...warm, 11.5]);
    const step = steps.at(-1) as DetectorStep;
    expect(step.status).toBe("in_band");
    expect(step.forecast).toBe(11);
    expect(step.lower).toBeCloseTo(6.5279, 4);
    expect(step.upper).toBeCloseTo(15.4721, 4);
    expect(state.level).toBeCloseTo(11.15, 12);
    expect(state.variance).toBeCloseTo(0.95 * (20 / 9) + 0.0125, 12);
  });

  it("one outlier (30, above 11.15 + 3·1.4573 = 15.522) is not a change, and does not move the forecast", () => {
    const { steps, state } = feed([...warm, 11.5, 30, 11]);
    expect(steps.slice(10).map((s) => s.status)).toEqual(["in_band", "outlier", "in_band"]);
    expect(steps[11]).toMatchObject({ direction: "up", smoothed: 11.15 });
    expect(steps[11]?.upper).toBeCloseTo(15.5218, 4);
    // 11 is compared with the forecast the outlier did not touch: L = 11.15 − 0.3·0.15 = 11.105,
    // V = 0.95·2.1236 + 0.05·0.0225 = 2.01856.
    expect(state.level).toBeCloseTo(11.105, 12);
    expect(state.variance).toBeCloseTo(2.018556, 6);
    expect(state.run).toBeNull();
  });

  it("a step down to 5 (band 11.105 ± 3·1.4208 = [6.843, 15.367]) is confirmed at its second reading; the forecast restarts there", () => {
    const { steps, state } = feed([...warm, 11.5, 30, 11, 5, 5, 5.2]);
    expect(steps.slice(13).map((s) => [s.status, s.direction])).toEqual([
      ["outlier", "down"],
      ["change", "down"],
      ["in_band", null],
    ]);
    expect(steps[13]?.lower).toBeCloseTo(6.8427, 4);
    expect(steps[14]?.smoothed).toBe(5);
    expect(state.level).toBeCloseTo(5.06, 12);
  });

  it("two outliers on opposite sides are two outliers, not a change", () => {
    const { steps } = feed([...warm, 30, -10, 11]);
    expect(steps.slice(10).map((s) => s.status)).toEqual(["outlier", "outlier", "in_band"]);
  });

  it("a perfectly steady series still has a band: σ is at least 1 % of the level", () => {
    const { steps } = feed([...Array<number>(10).fill(100), 102, 104, 104]);
    expect(steps[10]).toMatchObject({ status: "in_band", lower: 97, upper: 103 });
    expect(steps.slice(11).map((s) => s.status)).toEqual(["outlier", "change"]);
  });
});

describe("the change detector on a simulated series", () => {
  const base = noisy(60, 100, 2);

  it("confirms a step of 10 σ, and of 6 σ, at its second reading", () => {
    for (const drop of [20, 12]) {
      const series = [...base, ...noisy(10, 100 - drop, 2, 7)];
      const { steps } = feed(series);
      const first = steps.findIndex((s) => s.status === "change");
      expect(first, `drop of ${drop}`).toBeGreaterThanOrEqual(60);
      expect(first - 60, `drop of ${drop}`).toBeLessThan(DEFAULT_DETECTOR.confirmations);
      expect(steps[first]?.direction).toBe("down");
    }
  });

  it("ignores a single outlier of any size in a noisy series", () => {
    for (const spike of [130, 1_000, 0]) {
      const series = [...base];
      series[40] = spike;
      const { steps } = feed(series);
      expect(steps[40]?.status, `spike ${spike}`).toBe("outlier");
      expect(
        steps.some((s) => s.status === "change"),
        `spike ${spike}`,
      ).toBe(false);
    }
  });

  it("reports no change in 60 readings of pure noise", () => {
    expect(feed(base).steps.filter((s) => s.status === "change")).toEqual([]);
  });
});
