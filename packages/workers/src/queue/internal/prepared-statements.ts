import { createHash } from "node:crypto";

/** The part of pg-boss's own `Db` this module wraps. */
interface ExecutingDb {
  executeSql(text: unknown, values?: unknown[], options?: unknown): Promise<unknown>;
}

/** Options of `prepareRepeatedStatements`. */
export interface PreparedStatementOptions {
  /** Times a statement's text must be seen before it is prepared. Default 3. */
  after?: number;
  /** The most statements prepared, per connection and in all. Default 128. */
  limit?: number;
  /**
   * Called once if the connection turns out to reach PostgreSQL through a pooler that does not keep
   * prepared statements (a statement prepared on one server connection is missing on another); from then
   * on every statement runs unnamed.
   */
  onDisabled?(error: unknown): void;
}

/** Longer texts are never prepared (pg-boss inlines payloads into some): `seen` stays small. */
const MAX_TEXT = 16_384;

const messageOf = (error: unknown) => {
  const { code, message, routine } = (error ?? {}) as {
    code?: unknown;
    message?: unknown;
    routine?: unknown;
  };
  return {
    code,
    message: typeof message === "string" ? message : "",
    routine: typeof routine === "string" ? routine : "",
  };
};

/**
 * What PostgreSQL refuses before it runs anything, so running the text again unnamed is safe: a
 * prepared statement across a schema change, and a text of several statements (which only the simple
 * protocol accepts). The routine names the check whatever the server's message language.
 */
function refusedPreparation(error: unknown): boolean {
  const { code, message, routine } = messageOf(error);
  return (
    (code === "0A000" &&
      (routine === "RevalidateCachedQuery" || message.includes("cached plan must not change result type"))) ||
    (code === "42601" &&
      (routine === "exec_parse_message" || message.includes("cannot insert multiple commands")))
  );
}

/**
 * A named statement missing on the server connection (26000) or already there (42P05): the connection
 * goes through a pooler that hands each statement another server connection. Refused at Parse or Bind,
 * before anything ran.
 */
function pooled(error: unknown): boolean {
  const { code } = messageOf(error);
  return code === "26000" || code === "42P05";
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
 * a text of several statements) runs again unnamed, and its text is never named again. It wants a
 * direct connection (or a pooler that keeps prepared statements, such as PgBouncer ≥ 1.21 with
 * `max_prepared_statements`), as LISTEN does.
 *
 * It wraps `executeSql` on the instance pg-boss already holds (`boss.getDb()`): pg-boss has no hook for
 * naming its statements, and the wrapper changes nothing but the statement's name. Through a pooler
 * that does not keep prepared statements it notices the first statement missing on the server, runs it
 * again unnamed and names nothing from then on.
 */
export function prepareRepeatedStatements(db: ExecutingDb, options: PreparedStatementOptions = {}): void {
  const after = options.after ?? 3;
  const limit = options.limit ?? 128;
  let disabled = false;
  const seen = new Map<string, number>();
  const named = new Map<string, string>();
  const refused = new Set<string>();
  // Names handed out, refused ones included: no connection ever holds more than `limit`.
  let handedOut = 0;
  const execute = db.executeSql.bind(db);

  const nameOf = (text: string): string | undefined => {
    if (disabled) return undefined;
    const name = named.get(text);
    if (name !== undefined || handedOut >= limit || text.length > MAX_TEXT || refused.has(text)) return name;
    const count = (seen.get(text) ?? 0) + 1;
    if (count < after) {
      // Bounded: texts that never repeat (inlined payloads) must not accumulate.
      if (seen.size >= 256) seen.clear();
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
      if (pooled(error)) {
        if (!disabled) {
          disabled = true;
          options.onDisabled?.(error);
        }
        return execute(text, values, executeOptions);
      }
      if (!refusedPreparation(error)) throw error;
      named.delete(text as string);
      refused.add(text as string);
      return execute(text, values, executeOptions);
    }
  };
}
