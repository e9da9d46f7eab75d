import { describe, expect, it } from "vitest";
import { type DampingState, dampingOf, decideDamping } from "./policy-damping.js";

/** Runs a sequence of (seconds, held) through the decision, returning each decision's short form. */
function run(params: { forSeconds: number; cooldownSeconds: number }, sequence: [number, boolean][]) {
  let state: DampingState = { pendingSince: null, firing: false, lastFiredAt: null };
  return sequence.map(([t, held]) => {
    const { decision, next } = decideDamping(state, t * 1000, held, false, params);
    state = next;
    return decision.kind === "suppressed" ? decision.reason : decision.kind;
  });
}

describe("S2 damping decisions (hand-worked)", () => {
  it("dampingOf reads for and cooldown, in seconds or with units; neither means not damped", () => {
    expect(dampingOf({ on: ["*"], for: "5m", cooldown: 30 })).toEqual({
      forSeconds: 300,
      cooldownSeconds: 30,
    });
    expect(dampingOf({ on: ["*"], cooldown: "1h" })).toEqual({ forSeconds: 0, cooldownSeconds: 3600 });
    expect(dampingOf({ on: ["*"] })).toBeUndefined();
    expect(dampingOf({ on: ["*"], for: 0, cooldown: "0s" })).toBeUndefined();
    expect(dampingOf(null)).toBeUndefined();
  });

  it("for 60 s: fires once the condition has held 60 s on every event, once per stretch", () => {
    expect(
      run({ forSeconds: 60, cooldownSeconds: 0 }, [
        [0, true], // holds since 0: 0 s of 60
        [30, true], // 30 s of 60
        [59, true], // 59 s of 60
        [60, true], // 60 s: fires
        [90, true], // still the same stretch: already fired
        [100, false], // the stretch ends
        [110, true], // a new stretch since 110
        [170, true], // 60 s: fires again
      ]),
    ).toEqual(["pending", "pending", "pending", "fire", "firing", "quiet", "pending", "fire"]);
  });

  it("for 60 s: a condition flapping faster than 60 s never fires", () => {
    expect(
      run({ forSeconds: 60, cooldownSeconds: 0 }, [
        [0, true],
        [40, false],
        [50, true],
        [100, false],
        [105, true],
        [160, true], // 55 s since 105
      ]),
    ).toEqual(["pending", "quiet", "pending", "quiet", "pending", "pending"]);
  });

  it("cooldown 300 s: fires, then stays quiet for 300 s however often the condition holds", () => {
    expect(
      run({ forSeconds: 0, cooldownSeconds: 300 }, [
        [0, true], // fires
        [10, false],
        [20, true], // 20 s after firing
        [299, true], // 299 s after
        [300, true], // 300 s: fires
        [301, true],
      ]),
    ).toEqual(["fire", "quiet", "cooldown", "cooldown", "fire", "cooldown"]);
  });

  it("for 60 s and cooldown 600 s: the flapping sequence of the integration test fires once", () => {
    expect(
      run({ forSeconds: 60, cooldownSeconds: 600 }, [
        [0, true],
        [20, true],
        [30, false],
        [40, true],
        [70, true],
        [80, false],
        [90, true],
        [150, true],
        [160, true],
        [170, false],
        [180, true],
        [240, true],
        [250, true],
      ]),
    ).toEqual([
      "pending",
      "pending",
      "quiet",
      "pending",
      "pending",
      "quiet",
      "pending",
      "fire",
      "firing",
      "quiet",
      "pending",
      "cooldown",
      "cooldown",
    ]);
  });

  it("an event older than one decided on changes nothing", () => {
    const state: DampingState = { pendingSince: 100_000, firing: true, lastFiredAt: 160_000 };
    const params = { forSeconds: 60, cooldownSeconds: 0 };
    expect(decideDamping(state, 50_000, true, true, params)).toEqual({
      decision: expect.objectContaining({ kind: "suppressed", reason: "out_of_order" }),
      next: state,
    });
    expect(decideDamping(state, 50_000, false, true, params)).toEqual({
      decision: { kind: "quiet" },
      next: state,
    });
  });

  it("says why in plain words", () => {
    const start: DampingState = { pendingSince: null, firing: false, lastFiredAt: null };
    expect(decideDamping(start, 0, true, false, { forSeconds: 60, cooldownSeconds: 0 }).decision).toEqual({
      kind: "suppressed",
      reason: "pending",
      message: "the condition has held for 0 s of the 60 s `for` requires",
    });
    const fired: DampingState = { pendingSince: 0, firing: false, lastFiredAt: 0 };
    expect(
      decideDamping(fired, 45_000, true, false, { forSeconds: 0, cooldownSeconds: 60 }).decision,
    ).toMatchObject({
      message: "it fired 45 s ago; the cooldown is 60 s",
    });
  });
});
