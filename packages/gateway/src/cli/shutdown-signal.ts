/**
 * A repeat of the first signal within this long is the same Ctrl-C delivered twice, not a second one:
 * a terminal signals its whole foreground process group, and a parent in that group may relay it again
 * (pnpm, as the group's leader, forwards SIGINT to its script a few milliseconds later).
 */
export const REPEAT_WINDOW_MS = 1_000;

/** Options of `shutdownSignal`. */
export interface ShutdownSignalOptions {
  /** The clock (tests). */
  now?: () => number;
}

/**
 * Resolves with the first SIGTERM or SIGINT. A second one while shutting down exits at once with 1
 * (an impatient Ctrl-C), so a stuck shutdown can always be cut short; a repeat within
 * `REPEAT_WINDOW_MS` of the first is taken as the same one and ignored.
 *
 * @example
 * ```ts
 * const signal = await shutdownSignal(() => process.exit(1));
 * ```
 */
export function shutdownSignal(
  onForce: (signal: NodeJS.Signals) => void,
  options: ShutdownSignalOptions = {},
): Promise<NodeJS.Signals> {
  const now = options.now ?? Date.now;
  return new Promise((resolve) => {
    let first: number | undefined;
    const handler = (signal: NodeJS.Signals) => {
      if (first === undefined) {
        first = now();
        resolve(signal);
        return;
      }
      if (now() - first < REPEAT_WINDOW_MS) return;
      onForce(signal);
    };
    process.on("SIGTERM", handler);
    process.on("SIGINT", handler);
  });
}
