/** Names and URL helpers shared by the global setup and the per-file database helper. */

/** The non-superuser role that owns the test databases and runs the migrations. */
export const OWNER_ROLE = "cybernetic_test_owner";
/** The login role the tests' application connections use (a member of cybernetic_app). */
export const RUNTIME_ROLE = "cybernetic_test_runtime";

/** What the global setup provides to every test file. */
export interface TestDatabaseInfo {
  adminUrl: string;
  template: string;
  run: string;
  ownerPassword: string;
  runtimePassword: string;
  serverVersion: string;
  /** Set when the runtime role's connections go through a PgBouncer in transaction mode. */
  pooler?: { host: string; port: number; version: string };
}

/** `url` with another user, password and database. */
export function withUser(url: string, user: string, password: string, database: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  u.pathname = `/${database}`;
  return u.toString();
}

/** `url` pointing at another host and port (a pooler in front of the same server). */
export function withHost(url: string, host: string, port: number): string {
  const u = new URL(url);
  u.hostname = host;
  u.port = String(port);
  return u.toString();
}
