import { CyberneticError } from "@cybernetic/core";
import type { z } from "zod";

/**
 * Validates gateway-owned input (query strings, path parameters, the dry-run body) the way core's
 * services validate theirs: `validation_failed` whose message names each field and whose
 * `details.issues` lists `{ path, message }`.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
  const text = issues
    .slice(0, 5)
    .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
    .join("; ");
  throw new CyberneticError("validation_failed", `invalid ${what}: ${text}`, { details: { issues } });
}
