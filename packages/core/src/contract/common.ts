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

/** The VSM systems: 1 operations, 2 coordination, 3 control, 4 intelligence, 5 policy. */
export const systemSchema = z.coerce.number().int().min(1).max(5);

/** A VSM system number. */
export type SystemNumber = 1 | 2 | 3 | 4 | 5;

/** Names of the five systems, for display. */
export const systemNames: Readonly<Record<SystemNumber, string>> = {
  1: "operations",
  2: "coordination",
  3: "control",
  4: "intelligence",
  5: "policy",
};
