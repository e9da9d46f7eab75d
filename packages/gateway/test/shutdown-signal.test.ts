import { describe, expect, it } from "vitest";
import { REPEAT_WINDOW_MS, shutdownSignal } from "../src/cli/shutdown-signal.ts";

describe("shutdownSignal", () => {
  it("takes a relayed repeat of the first Ctrl-C as the same one, and a later one as a second", async () => {
    let clock = 1_000_000;
    const forced: string[] = [];
    const received = shutdownSignal((signal) => forced.push(signal), { now: () => clock });
    process.emit("SIGINT", "SIGINT"); // the terminal's, to the whole process group
    expect(await received).toBe("SIGINT");
    clock += 5;
    process.emit("SIGINT", "SIGINT"); // pnpm relaying it to its script
    expect(forced).toEqual([]);
    clock += REPEAT_WINDOW_MS;
    process.emit("SIGTERM", "SIGTERM"); // an impatient second stop
    expect(forced).toEqual(["SIGTERM"]);
  });
});
