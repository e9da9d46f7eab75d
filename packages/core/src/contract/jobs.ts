import { z } from "zod";
import { timestampSchema } from "./common.js";

/** A job's states (pg-boss's): waiting (`created`, `retry`), running, or finished. */
export const jobStates = ["created", "retry", "active", "completed", "cancelled", "failed"] as const;
/** A job's state. */
export type JobState = (typeof jobStates)[number];

/** A background job as `GET /v1/jobs/:id` returns it (e.g. an episode's analysis). */
export const jobSchema = z
  .object({
    id: z.string(),
    name: z.string().describe("The job name, e.g. `episode.analyze`."),
    state: z.enum(jobStates),
    priority: z.number(),
    attempts: z.number().describe("Attempts started so far."),
    retryLimit: z.number(),
    createdAt: timestampSchema,
    startedAt: timestampSchema.nullable(),
    completedAt: timestampSchema.nullable(),
    output: z.unknown().describe("The handler's result on success, `{ message, … }` on failure."),
  })
  .meta({ id: "Job" });
/** A background job as the API returns it. */
export type Job = z.infer<typeof jobSchema>;
