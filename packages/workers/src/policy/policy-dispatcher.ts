/**
 * The S5 dispatcher: turns every published outbox event into one `policy.evaluate` job, durably and
 * exactly once.
 *
 * Exactly once comes from one transaction per batch on the runtime database: lock this consumer's row in
 * `event_consumers` (FOR UPDATE, so concurrent dispatchers in other processes take turns), read the
 * published events after its `last_id` (`read_events`, a SECURITY DEFINER function: the dispatcher sees
 * every tenant's events without a tenant context), insert one job per event into pg-boss's table through
 * the same transaction (`fromKysely(trx)`), and advance `last_id`. Either all of it commits or none of
 * it: a crash never loses an event and never hands one out twice. Published ids only ever grow past the
 * cursor (see migration 0001), so "id > last_id" never skips one. The job's `singletonKey`
 * `policy:<eventId>` labels it; the guarantee does not rest on it (pg-boss's standard queues do not
 * deduplicate by key), and the job itself is idempotent per (event, policy) besides.
 *
 * What drives it: the event bus (a subscriber for every tenant triggers a pass, coalesced) plus a
 * periodic pass, which also publishes committed events (`publish_events`) so dispatching works in a
 * worker process with no bus at all.
 */
import { type Db, type EventBus, type Logger, silentLogger } from "@cybernetic/core";
import { sql } from "kysely";
import { fromKysely } from "pg-boss";
import { policyEvaluateJob } from "../jobs/policy-evaluate.js";
import type { CyberneticQueue } from "../queue/job-queue.js";
import { priorityValues } from "../queue/queues.js";

/** Options of `createPolicyDispatcher`. */
export interface PolicyDispatcherOptions {
  /** The runtime database. */
  db: Db;
  queue: CyberneticQueue;
  logger?: Logger;
  /** Events handed out per transaction. Default 500. */
  batchSize?: number;
  /** The `event_consumers` row. Default `policy`. */
  consumer?: string;
}

/** Options of `PolicyDispatcher.start`. */
export interface PolicyDispatcherStartOptions {
  /** Triggers a pass whenever the bus delivers an event (of any tenant). */
  bus?: EventBus;
  /** Periodic pass (publish, then dispatch). Default 2 000 ms. */
  intervalMs?: number;
}

/** The running dispatcher. */
export interface PolicyDispatcher {
  /**
   * One pass: hands out every published event not handed out yet, batch by batch. Returns the number of
   * jobs enqueued. Safe to call concurrently with other dispatchers (they serialise on the cursor row).
   */
  dispatch(): Promise<number>;
  /** Requests a pass; coalesced with one already running (at most one more runs after it). */
  trigger(): void;
  /** Subscribes to the bus (if given) and starts the periodic pass. */
  start(options?: PolicyDispatcherStartOptions): void;
  /** Stops triggering and waits for a pass in progress. */
  stop(): Promise<void>;
}

interface EventRow {
  id: string;
  tenant_id: string;
}

const MAX_BATCHES_PER_PASS = 100;

/**
 * Creates the dispatcher. `startWorkers` runs one when `policy.evaluate` is among its jobs; hosts
 * running their own worker loop can run it directly.
 *
 * @example
 * ```ts
 * const dispatcher = createPolicyDispatcher({ db: platform.db, queue });
 * dispatcher.start({ bus });
 * // … on shutdown
 * await dispatcher.stop();
 * ```
 */
export function createPolicyDispatcher(options: PolicyDispatcherOptions): PolicyDispatcher {
  const { db, queue } = options;
  const logger = options.logger ?? silentLogger;
  const batchSize = Math.max(1, Math.min(options.batchSize ?? 500, 10_000));
  const consumer = options.consumer ?? "policy";
  const priority = priorityValues[policyEvaluateJob.policy.priority];
  let running = false;
  let current: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;

  const dispatchBatch = (): Promise<number> =>
    db.transaction().execute(async (trx) => {
      // A fresh install starts at the newest published event: history is not replayed.
      await trx
        .insertInto("event_consumers")
        .values({
          name: consumer,
          last_id: sql<string>`coalesce((select max_id from cybernetic.event_bounds()), 0)`,
        })
        .onConflict((oc) => oc.column("name").doNothing())
        .execute();
      const cursor = await trx
        .selectFrom("event_consumers")
        .select("last_id")
        .where("name", "=", consumer)
        .forUpdate()
        .executeTakeFirstOrThrow();
      const { rows } = await sql<EventRow>`
        select id, tenant_id from cybernetic.read_events(${cursor.last_id}, ${batchSize})`.execute(trx);
      const last = rows.at(-1);
      if (!last) return 0;
      await queue.boss.insert(
        "policy.evaluate",
        rows.map((row) => ({
          data: { tenantId: row.tenant_id, eventId: String(row.id) },
          singletonKey: `policy:${row.id}`,
          priority,
        })),
        { db: fromKysely(trx) },
      );
      await trx
        .updateTable("event_consumers")
        .set({ last_id: String(last.id), updated_at: sql<Date>`now()` })
        .where("name", "=", consumer)
        .execute();
      return rows.length;
    });

  const dispatch = async (): Promise<number> => {
    let total = 0;
    for (let i = 0; i < MAX_BATCHES_PER_PASS; i++) {
      const n = await dispatchBatch();
      total += n;
      if (n < batchSize) break;
    }
    if (total > 0) logger.debug({ jobs: total }, "policy dispatcher: events handed out");
    return total;
  };

  const pass = (publishFirst: boolean): void => {
    if (current) {
      again = true;
      return;
    }
    current = (async () => {
      do {
        again = false;
        try {
          if (publishFirst) await sql`select cybernetic.publish_events(${batchSize})`.execute(db);
          await dispatch();
        } catch (error) {
          if (running)
            logger.warn({ err: error }, "policy dispatcher: pass failed; retrying on the next tick");
        }
      } while (again && running);
    })().finally(() => {
      current = undefined;
    });
  };

  return {
    dispatch,
    trigger() {
      if (running) pass(false);
    },
    start(startOptions = {}) {
      if (running) return;
      running = true;
      unsubscribe = startOptions.bus?.subscribe({}, () => pass(false));
      timer = setInterval(() => pass(true), startOptions.intervalMs ?? 2_000);
      timer.unref();
      pass(true);
    },
    async stop() {
      running = false;
      clearInterval(timer);
      unsubscribe?.();
      unsubscribe = undefined;
      await current;
    },
  };
}
