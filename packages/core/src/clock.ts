/**
 * What time it is, as the platform's services see it: `new Date()` by default. Handed in
 * (`createPlatform({ clock })`) so that time-driven behaviour (alert escalation windows, S3* staleness
 * checks) is tested by moving a clock, never by sleeping.
 *
 * @example
 * ```ts
 * let now = Date.parse("2026-01-01T00:00:00Z");
 * const platform = createPlatform({ db, clock: () => new Date(now) });
 * now += 16 * 60_000; // sixteen minutes later
 * ```
 */
export type Clock = () => Date;

/** The wall clock. */
export const systemClock: Clock = () => new Date();
