import { z } from "zod";
import {
  cursorSchema,
  jsonRecordSchema,
  limitSchema,
  pageSchemaOf,
  timestampSchema,
  uuidSchema,
} from "./common.js";

/**
 * What an S3* audit checks, past what S1 reports:
 * - `stuck_episode`: an episode `analyzing` for more than 15 minutes (severe past an hour);
 * - `stale_state`: a system state not updated within its unit's `stateIntervalSeconds`;
 * - `policy_errors`: an active policy whose evaluations errored or failed in the last 24 hours;
 * - `artifact_mismatch`: an artifact whose stored bytes are missing or no longer match its recorded size
 *   and SHA-256 (always severe);
 * - `stuck_notification`: a notification pending or sending for more than 15 minutes (severe past an hour).
 */
export const auditChecks = [
  "stuck_episode",
  "stale_state",
  "policy_errors",
  "artifact_mismatch",
  "stuck_notification",
] as const;
/** One of the audit's checks. */
export type AuditCheck = (typeof auditChecks)[number];

/** How bad a finding is; a severe one raises an algedonic (pain) alert at its unit. */
export const findingSeverities = ["info", "warning", "severe"] as const;
/** A finding's severity. */
export type FindingSeverity = (typeof findingSeverities)[number];

/** Body of `POST /v1/audits`: audit a unit and everything below it (default the whole tenant). */
export const runAuditSchema = z
  .object({
    unitId: uuidSchema.optional().describe("The top of the audited subtree; default the root unit."),
    sample: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(10)
      .describe("How many items each check samples per unit (episodes, artifacts, notifications, policies)."),
  })
  .strict();
/** Input of `audits.run`. */
export type RunAuditInput = z.input<typeof runAuditSchema>;

/** Query of `GET /v1/audits`. */
export const listAuditsSchema = z.object({ limit: limitSchema, cursor: cursorSchema.optional() }).strict();
/** Input of `audits.list`. */
export type ListAuditsInput = z.input<typeof listAuditsSchema>;

/** One thing an audit found. */
export const auditFindingSchema = z
  .object({
    id: z.uuid(),
    auditId: z.uuid(),
    unitId: z.uuid(),
    check: z.enum(auditChecks),
    severity: z.enum(findingSeverities),
    subject: jsonRecordSchema.describe('What it is about, e.g. `{ kind: "artifact", path }`.'),
    message: z.string().describe("What is wrong, in plain words."),
    details: jsonRecordSchema,
    createdAt: timestampSchema,
  })
  .meta({ id: "AuditFinding" });
/** One thing an audit found. */
export type AuditFinding = z.infer<typeof auditFindingSchema>;

/** An audit, with its findings (`GET /v1/audits/:id`, `POST /v1/audits`). */
export const auditSchema = z
  .object({
    id: z.uuid(),
    unitId: z.uuid().describe("The top of the audited subtree."),
    trigger: z.enum(["scheduled", "manual"]),
    startedAt: timestampSchema,
    finishedAt: timestampSchema,
    summary: jsonRecordSchema.describe("Units audited, items sampled per check, findings by severity."),
    findings: z.array(auditFindingSchema),
  })
  .meta({ id: "Audit" });
/** An audit with its findings. */
export type Audit = z.infer<typeof auditSchema>;

/** An audit in a list (its findings counted, not listed). */
export const auditSummarySchema = auditSchema.omit({ findings: true }).meta({ id: "AuditSummary" });
/** An audit in a list. */
export type AuditSummary = z.infer<typeof auditSummarySchema>;

/** A page of audits, newest first. */
export const auditPageSchema = pageSchemaOf(auditSummarySchema, "AuditPage");
