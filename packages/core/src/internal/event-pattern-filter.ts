import { type Expression, type ExpressionBuilder, type SqlBool, sql } from "kysely";
import type { Database } from "../schema.js";

/**
 * The SQL of "an event's type matches one of these subscription patterns" (`*`, `category.*` or an exact
 * type; see `matchesEventPattern`), for queries on `events`; undefined when every type matches. The one
 * translation of patterns to SQL, shared by the stream's replay and the list of recent events.
 */
export function eventPatternFilter(
  patterns: readonly string[] | undefined,
): ((eb: ExpressionBuilder<Database, "events">) => Expression<SqlBool>) | undefined {
  if (patterns === undefined || patterns.includes("*")) return undefined;
  return (eb) =>
    eb.or(
      patterns.map((p) =>
        p.endsWith(".*") ? sql<boolean>`starts_with(type, ${p.slice(0, -1)})` : eb("type", "=", p),
      ),
    );
}
