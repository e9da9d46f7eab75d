/**
 * Records uncaught exceptions and unhandled rejections of the test process for the duration of a file,
 * so a fault test can assert that the gateway it runs in-process never produced one (the same event
 * would end a real `cybernetic serve`).
 */
import { afterAll, beforeAll } from "vitest";

/** Registers hooks; read `uncaught` inside tests. */
export function captureProcessFaults(): { uncaught: string[] } {
  const state = { uncaught: [] as string[] };
  const record = (kind: string) => (error: unknown) => {
    const text = error instanceof Error ? `${error.stack ?? error.message}` : String(error);
    state.uncaught.push(`${kind}: ${text}`);
  };
  const onException = record("uncaughtException");
  const onRejection = record("unhandledRejection");
  beforeAll(() => {
    process.on("uncaughtException", onException);
    process.on("unhandledRejection", onRejection);
  });
  afterAll(() => {
    process.off("uncaughtException", onException);
    process.off("unhandledRejection", onRejection);
  });
  return state;
}
