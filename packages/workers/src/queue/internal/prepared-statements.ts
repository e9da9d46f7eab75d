import { createHash } from "node:crypto";

/** The part of pg-boss's own `Db` this module wraps. */
interface ExecutingDb {
  executeSql(text: unknown, values?: unknown[], options?: unknown): Promise<unknown>;
}

/** Options of `prepareRepeatedStatements`. */
export interface PreparedStatementOptions {
  /** Times a statement's text must be seen before it is prepared. Default 3. */
  after?: number;
  /** The most statements prepared, per connection and in all. Default 64. */
  limit?: number;
}

/**
 * What PostgreSQL refuses before it runs anything, so running the text again unnamed is safe: a
 * prepared statement across a schema change, and a text of several statements (which only the simple
 * protocol accepts).
 */
function refusedPreparation(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : "";
  return (
    (code === "0A000" && text.includes("cached plan must not change result type")) ||
    (code === "42601" && text.includes("cannot insert multiple commands into a prepared statement"))
  );
}

/**
 * Makes pg-boss's pool run the statements it repeats as named prepared statements, so PostgreSQL parses
 * and plans each once per connection instead of on every call. pg-boss sends its SQL as unnamed
 * statements; the fetch, insert and complete statements of a queue are the same text every time (the
 * queue's name is inlined, the rest are parameters), and their parse and plan were about half of the
 * time a job spends between `send` and its handler starting.
 *
 * Only text seen `after` times is named, and at most `limit` texts are, so a statement whose text varies
 * (pg-boss inlines a flow's payload, for one) never grows a connection's prepared statements. pg's
 * client prepares a named statement on a connection the first time it runs there. A statement that
 * PostgreSQL refuses to run prepared (after a schema change: "cached plan must not change result type";
 * a text of several statements) runs again unnamed, and its text is never named again. Needs a direct connection (or a pooler that keeps
 * prepared statements, such as PgBouncer ≥ 1.21 with `max_prepared_statements`), like pg-boss's LISTEN.
 *
 * It wraps `executeSql` on the instance pg-boss already holds (`boss.getDb()`): pg-boss has no hook for
 * naming its statements, and the wrapper changes nothing but the statement's name.
 */
export function prepareRepeatedStatements(db: ExecutingDb, options: PreparedStatementOptions = {}): void {
  const after = options.after ?? 3;
  const limit = options.limit ?? 64;
  const seen = new Map<string, number>();
  const named = new Map<string, string>();
  const refused = new Set<string>();
  // Names handed out, refused ones included: no connection ever holds more than `limit`.
  let handedOut = 0;
  const execute = db.executeSql.bind(db);

  const nameOf = (text: string): string | undefined => {
    const name = named.get(text);
    if (name !== undefined || handedOut >= limit || refused.has(text)) return name;
    const count = (seen.get(text) ?? 0) + 1;
    if (count < after) {
      // Bounded: texts that never repeat (inlined payloads) must not accumulate.
      if (seen.size >= 1_000) seen.clear();
      seen.set(text, count);
      return undefined;
    }
    seen.delete(text);
    const fresh = `cybernetic_${createHash("sha256").update(text).digest("hex").slice(0, 32)}`;
    named.set(text, fresh);
    handedOut += 1;
    return fresh;
  };

  db.executeSql = async (text, values, executeOptions) => {
    const name = typeof text === "string" ? nameOf(text) : undefined;
    if (name === undefined) return execute(text, values, executeOptions);
    try {
      return await execute({ name, text }, values, executeOptions);
    } catch (error) {
      if (!refusedPreparation(error)) throw error;
      named.delete(text as string);
      refused.add(text as string);
      return execute(text, values, executeOptions);
    }
  };
}
