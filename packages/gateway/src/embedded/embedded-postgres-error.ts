/**
 * Why the embedded PostgreSQL could not start, in one line that says what to do (the CLI prints the
 * message alone, without a stack).
 */
export class EmbeddedPostgresError extends Error {
  override readonly name = "EmbeddedPostgresError";
}
