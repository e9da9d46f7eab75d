import type { z } from "zod";
import { type ErrorIssue, validationError } from "../errors.js";

/** Flattens zod issues into `{ path, message }` with dotted paths. */
export function zodIssues(error: z.ZodError): ErrorIssue[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join("."),
    message: issue.message,
  }));
}

/**
 * Parses `input` with `schema` or throws a `validation_failed` error whose message names every field
 * that was wrong, e.g. `invalid episode: title: Too big: expected string to have <=500 characters`.
 */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = zodIssues(result.error);
  const text = issues
    .slice(0, 5)
    .map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))
    .join("; ");
  throw validationError(`invalid ${what}: ${text}`, issues, result.error);
}
