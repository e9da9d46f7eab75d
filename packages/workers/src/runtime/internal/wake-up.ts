import { createHash } from "node:crypto";
import type { Logger } from "@cybernetic/core";
import type { PgBoss } from "pg-boss";

/** One fetch loop: a pg-boss worker of one queue. */
export interface FetchLoop {
  /** The pg-boss worker id; empty until `boss.work` has returned it. */
  id: string;
  /** Inside its handler. */
  busy: boolean;
}

/** Wakes this process's fetch loops when jobs arrive. */
export interface WakeUp {
  /** A new fetch loop of queue `name`; fill in its `id` once pg-boss returns it. */
  add(name: string): FetchLoop;
  /** Wakes one idle loop of the queue (all of them when none is idle). */
  wakeOne(name: string): void;
  /** Starts listening; without LISTEN (a transaction pooler, say) the loops poll. */
  start(): Promise<void>;
  /** Closes the LISTEN connection (also done when the queue's pg-boss stops). */
  stop(): Promise<void>;
}

/**
 * The channel pg-boss's inserts notify on, with the queue's name as the payload: pg-boss's own
 * `notifyChannelSql` (`'pgboss_' || left(encode(sha224(schema), 'hex'), 24)`), computed here because the
 * runtime listens instead of pg-boss (a test holds the two to the same name).
 */
export function notifyChannel(schema: string): string {
  return `pgboss_${createHash("sha224").update(schema).digest("hex").slice(0, 24)}`;
}

/**
 * The workers' wake-up: one LISTEN connection (pg-boss's own listener, with its heartbeat and
 * reconnect) and, for each notification, one idle fetch loop of that queue woken, in turn. pg-boss's
 * listener wakes every loop of the queue instead, so each new job cost one fetch per loop, all racing
 * for the same row; on a small machine those extra fetches were what kept a job from starting sooner.
 * A loop that fetches a full batch wakes the next idle one (`wakeOne`), so a burst of jobs still
 * spreads over every loop. When every loop is busy all of them are woken: each fetches again as soon as
 * it finishes instead of after its polling interval. After a reconnect every loop fetches once, for the
 * notifications the outage lost.
 */
export function createWakeUp(boss: PgBoss, schema: string, logger: Logger): WakeUp {
  const queues = new Map<string, { loops: FetchLoop[]; next: number }>();
  let handle: { close(): Promise<void> } | undefined;
  let retry: NodeJS.Timeout | undefined;
  let stopped = false;

  const notify = (loop: FetchLoop) => {
    if (loop.id) boss.notifyWorker(loop.id);
  };
  const wakeOne = (name: string) => {
    const queue = queues.get(name);
    if (!queue) return;
    const { loops } = queue;
    for (let i = 0; i < loops.length; i++) {
      const index = (queue.next + i) % loops.length;
      const loop = loops[index] as FetchLoop;
      if (!loop.busy && loop.id) {
        queue.next = (index + 1) % loops.length;
        notify(loop);
        return;
      }
    }
    for (const loop of loops) notify(loop);
  };
  const wakeAll = () => {
    for (const { loops } of queues.values()) for (const loop of loops) notify(loop);
  };
  const stop = async () => {
    stopped = true;
    clearTimeout(retry);
    boss.off("stopped", onStopped);
    const open = handle;
    handle = undefined;
    await open?.close();
  };
  // pg-boss closed its own listener in `boss.stop()`; this one goes with it (its reconnect loop would
  // otherwise outlive the queue).
  const onStopped = () => void stop();
  boss.once("stopped", onStopped);

  return {
    add(name) {
      const loop: FetchLoop = { id: "", busy: false };
      const queue = queues.get(name) ?? { loops: [], next: 0 };
      queue.loops.push(loop);
      queues.set(name, queue);
      return loop;
    },
    wakeOne,
    async start() {
      const db = boss.getDb();
      if (typeof db.listen !== "function") {
        logger.warn(
          {},
          "workers: the queue's connection cannot LISTEN; new jobs wait for the polling interval",
        );
        return;
      }
      const listen = db.listen.bind(db);
      let failures = 0;
      // Once established, pg-boss's listener reconnects by itself; this retries the first LISTEN.
      const attempt = async (): Promise<void> => {
        try {
          const opened = await listen(notifyChannel(schema), wakeOne, wakeAll);
          if (stopped) await opened.close();
          else handle = opened;
        } catch (error) {
          if (stopped) return;
          (failures++ === 0 ? logger.warn : logger.debug).call(
            logger,
            { err: error },
            "workers: LISTEN failed (the database is away, or a transaction pooler); polling, retrying in 10 s",
          );
          retry = setTimeout(() => void attempt(), 10_000);
          retry.unref();
        }
      };
      await attempt();
    },
    stop,
  };
}
