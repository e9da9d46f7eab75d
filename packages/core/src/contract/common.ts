import { z } from "zod";

/** A UUID in canonical text form. */
export const uuidSchema = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, {
    message: "must be a UUID",
  });

/** A tenant slug: lowercase letters, digits and inner dashes, at most 63 characters. */
export const slugSchema = z
  .string()
  .min(1, { message: "must not be empty" })
  .max(63, { message: "must be at most 63 characters" })
  .regex(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, {
    message: "must be lowercase letters, digits and dashes, not starting or ending with a dash",
  });

/** A JSON object (a plain `{}`; arrays and scalars are rejected). */
export const jsonObjectSchema = z.record(z.string(), z.json());

/** `?limit=` of every list: 1..100, default 20; query strings are coerced. */
export const limitSchema = z.coerce.number().int().min(1).max(100).default(20);

/** An opaque pagination cursor returned as `nextCursor` by a previous page. */
export const cursorSchema = z.string().min(1).max(500);

/** One page of a cursor-paginated list. */
export interface Page<T> {
  items: T[];
  /** Pass as `?cursor=` to get the next page; absent on the last page. */
  nextCursor?: string;
}

/** A timestamp as the API returns it: ISO 8601 with an offset. */
export const timestampSchema = z.iso.datetime({ offset: true });

/**
 * A JSON object as the API returns it (tenant settings, system states, analyses). Typed
 * `Record<string, unknown>` so stored objects need no re-typing; the document says `object`.
 */
export const jsonRecordSchema = z.record(z.string(), z.unknown());

/** `{ items, nextCursor? }` of a resource schema: the schema of `Page<T>`, named `id` in documents. */
export function pageSchemaOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z
        .string()
        .optional()
        .describe("Pass as ?cursor= for the next page; absent on the last page."),
    })
    .meta({ id });
}

/** `{ items }` of a resource schema (an unpaginated list), named `id` in documents. */
export function listSchemaOf<T extends z.ZodType>(item: T, id: string) {
  return z.object({ items: z.array(item) }).meta({ id });
}

/** The body of every error answer: `{ error: { code, message, details? }, requestId }`. */
export const apiErrorSchema = z
  .object({
    error: z.object({
      code: z.string().describe("A stable, machine-readable code, e.g. `validation_failed`."),
      message: z.string(),
      details: z.unknown().optional(),
    }),
    requestId: z.string().describe("The `x-request-id` of the request, for logs and support."),
  })
  .meta({ id: "Error" });
/** The body of an error answer. */
export type ApiError = z.infer<typeof apiErrorSchema>;

/** The VSM systems: 1 operations, 2 coordination, 3 control, 4 intelligence, 5 policy. */
export const systemSchema = z.coerce.number().int().min(1).max(5);

/** A VSM system number. */
export type SystemNumber = 1 | 2 | 3 | 4 | 5;

/** A VSM system number as the API returns it. */
export const systemNumberSchema = z.union([
  z.literal(1),
  z.literal(2),
  z.literal(3),
  z.literal(4),
  z.literal(5),
]);

/** Names of the five systems, for display. */
export const systemNames: Readonly<Record<SystemNumber, string>> = {
  1: "operations",
  2: "coordination",
  3: "control",
  4: "intelligence",
  5: "policy",
};
