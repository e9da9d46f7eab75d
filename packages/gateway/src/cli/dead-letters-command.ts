import { checkConnection } from "@cybernetic/core";
import type { CyberneticConfig } from "../config.js";
import { createLogger, flushed } from "../logger.js";
import { type CliIo, UsageError } from "./cli-io.js";
import { workersModule } from "./integrations.js";

/** What `cybernetic dead-letters` was asked to do. */
export interface DeadLettersArgs {
  action: "list" | "retry" | "discard";
  /** The job's queue (`episode.analyze`), not its dead-letter queue. */
  queue?: string;
  /** At most this many jobs per run. */
  limit: number;
}

/**
 * `cybernetic dead-letters [retry|discard <queue>] [--limit N]`: lists the dead-letter queues with the
 * jobs waiting in each; `retry` puts up to N of a queue's dead jobs back on it (with their payloads, for
 * a fresh set of retries) and removes them from the dead-letter queue; `discard` removes them. Jobs are
 * idempotent, so a job retried twice (a crash between the two steps) does its effect once.
 */
export async function deadLettersCommand(
  config: CyberneticConfig,
  args: DeadLettersArgs,
  io: CliIo,
): Promise<number> {
  const url = config.database.directUrl ?? config.database.url;
  if (!url) throw new UsageError("DATABASE_URL is required (the job queue of a deployed database)");
  const workers = workersModule;
  if (args.action !== "list") {
    if (!args.queue) throw new UsageError(`dead-letters ${args.action} needs a <queue>`);
    if (!(workers.jobNames as readonly string[]).includes(args.queue))
      throw new UsageError(
        `unknown queue ${JSON.stringify(args.queue)}; one of ${workers.jobNames.join(", ")}`,
      );
  }
  await checkConnection(url);
  const logger = createLogger({ level: "warn", destination: 2, sync: true });
  const queue = workers.createJobQueue({ connectionString: url, poolSize: 2, logger });
  await queue.start();
  try {
    if (args.action === "list") {
      const depths = await queue.depths();
      const dead = workers.jobNames.map(
        (name) => [workers.deadLetterQueue(name), depths[workers.deadLetterQueue(name)] ?? 0] as const,
      );
      for (const [name, count] of dead) io.out(`${name}\t${count}\n`);
      const total = dead.reduce((sum, [, n]) => sum + n, 0);
      io.out(
        total === 0
          ? "no dead letters\n"
          : `${total} dead letter(s); \`cybernetic dead-letters retry <queue>\` puts them back\n`,
      );
      return 0;
    }
    const name = args.queue as (typeof workers.jobNames)[number];
    const deadQueue = workers.deadLetterQueue(name);
    const jobs = await queue.boss.fetch<object>(deadQueue, { batchSize: args.limit });
    if (jobs.length === 0) {
      io.out(`${deadQueue} is empty\n`);
      return 0;
    }
    const ids = jobs.map((job) => job.id);
    if (args.action === "retry") {
      // The dead job's payload was valid for this queue when it was first sent (a payload that failed its
      // schema is dead-lettered by the runtime and will be again): `send` applies the queue's priority.
      for (const job of jobs) await queue.send(name, job.data as never);
      await queue.boss.complete(deadQueue, ids);
      io.out(`retried ${jobs.length} job(s) of ${deadQueue} on ${name}\n`);
    } else {
      await queue.boss.deleteJob(deadQueue, ids);
      io.out(`discarded ${jobs.length} job(s) of ${deadQueue}\n`);
    }
    return 0;
  } finally {
    await queue.stop({ graceful: false });
    await flushed(logger);
  }
}
