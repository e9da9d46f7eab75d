import { type Compilable, CompiledQuery, type Kysely } from "kysely";

/** What a shape's builder puts where a value goes: the value's stand-in, typed as the value. */
export type Slot<V> = <K extends keyof V & string>(key: K) => V[K];

interface Compiled<V> {
  sql: string;
  /** Per parameter: the slot it takes its value from, or the constant the builder wrote. */
  parameters: ({ slot: keyof V } | { constant: unknown })[];
}

const MARK = "\u0000cybernetic-slot:";

/**
 * A hot query built and compiled once per shape (which optional filters it has), then run with each
 * call's values as bind parameters. Building a Kysely query allocates a frozen node per clause and
 * compiling walks them all; for a list read that was about a twentieth of a request's CPU and much of
 * its garbage. The builder gets `slot(key)` to write where a value goes; the compiled statement keeps
 * Kysely's SQL, and each parameter is looked up by its slot when the query runs. Only values may vary
 * per call: anything that changes the SQL text (a column, an operator) belongs in the shape.
 *
 * The builder runs once per shape, so it must take every per-call value from `slot`: a value it reads
 * from its closure is baked into the statement for every later call. A slot stands for one parameter, so
 * it cannot hold a list that `in` would expand (bind an array and use `= any(...)`). Compiled SQL is cached
 * per shape, not per Kysely instance: use one `QueryShapes` with databases of the same dialect and plugins.
 *
 * @example
 * ```ts
 * const byStatus = new QueryShapes<"all" | "status", { tenant: string; status: string }, Row>(
 *   (db, shape, slot) => {
 *     const q = db.selectFrom("episodes").selectAll().where("tenant_id", "=", slot("tenant"));
 *     return shape === "status" ? q.where("status", "=", slot("status")) : q;
 *   },
 * );
 * const rows = await byStatus.run(trx, input.status ? "status" : "all", { tenant, status });
 * ```
 */
export class QueryShapes<S extends string, V extends Record<string, unknown>, R, DB = unknown> {
  readonly #build: (db: Kysely<DB>, shape: S, slot: Slot<V>) => Compilable<R>;
  readonly #compiled = new Map<S, Compiled<V>>();

  constructor(build: (db: Kysely<DB>, shape: S, slot: Slot<V>) => Compilable<R>) {
    this.#build = build;
  }

  /** Runs the shape's statement on `db` (a transaction, usually) with `values`; returns its rows. */
  async run(db: Kysely<DB>, shape: S, values: V): Promise<R[]> {
    const compiled = this.#compiled.get(shape) ?? this.#compile(db, shape);
    const parameters = compiled.parameters.map((p) => ("slot" in p ? values[p.slot] : p.constant));
    const result = await db.executeQuery(CompiledQuery.raw(compiled.sql, parameters) as CompiledQuery<R>);
    return result.rows;
  }

  #compile(db: Kysely<DB>, shape: S): Compiled<V> {
    const slot = ((key: string) => `${MARK}${key}`) as Slot<V>;
    const query = this.#build(db, shape, slot).compile();
    const compiled: Compiled<V> = {
      sql: query.sql,
      parameters: query.parameters.map((value) =>
        typeof value === "string" && value.startsWith(MARK)
          ? { slot: value.slice(MARK.length) as keyof V }
          : { constant: value },
      ),
    };
    this.#compiled.set(shape, compiled);
    return compiled;
  }
}
