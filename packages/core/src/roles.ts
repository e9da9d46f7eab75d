import { type Kysely, sql } from "kysely";
import pg from "pg";
import { CyberneticError } from "./errors.js";

/** The group role the application runs as (created by the migrations). */
export const APP_ROLE = "cybernetic_app";

/** Options of `ensureRuntimeRole`. */
export interface RuntimeRoleOptions {
  /** Login role name, e.g. `cybernetic_runtime`. */
  user: string;
  /** Its password; omitted: none is set (or an existing one is kept), for trust, peer or certificate login. */
  password?: string;
}

/**
 * Creates (or updates the password of) a login role that is a member of `cybernetic_app`, for a runtime
 * connection that cannot bypass row-level security. Run it with the owner connection after `migrate`
 * (`cybernetic migrate` does, for the user of `DATABASE_URL`); running it again changes nothing else.
 * The owner needs CREATEROLE (PostgreSQL 16+: and ADMIN on a role it did not create).
 * Identifiers and the password are quoted by pg's `escapeIdentifier`/`escapeLiteral` (DDL takes no bind
 * parameters).
 *
 * @example
 * ```ts
 * await ensureRuntimeRole(owner, { user: "cybernetic_runtime", password: secret });
 * ```
 */
export async function ensureRuntimeRole<DB>(owner: Kysely<DB>, options: RuntimeRoleOptions): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(options.user)) {
    throw new CyberneticError("validation_failed", "runtime role name must match ^[a-z_][a-z0-9_]{0,62}$");
  }
  const user = pg.escapeIdentifier(options.user);
  const password = options.password === undefined ? "" : ` password ${pg.escapeLiteral(options.password)}`;
  // One transaction under an advisory lock: replicas starting at once (each running `cybernetic migrate`)
  // take turns, so the second finds the role and only restates its password.
  await owner.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(hashtext('cybernetic.ensure_runtime_role'))`.execute(trx);
    await createOrAlter(trx, options.user, user, password);
  });
}

async function createOrAlter<DB>(owner: Kysely<DB>, name: string, user: string, password: string) {
  const { rows } = await sql<{ super: boolean; bypass: boolean }>`
    select rolsuper as super, rolbypassrls as bypass from pg_roles where rolname = ${name}`.execute(owner);
  const existing = rows[0];
  if (existing?.super || existing?.bypass) {
    throw new CyberneticError(
      "validation_failed",
      `role "${name}" exists and ${existing.super ? "is a superuser" : "has BYPASSRLS"}; it cannot be the runtime role`,
    );
  }
  // ALTER ROLE may not even restate NOSUPERUSER without being a superuser (PostgreSQL 15), so an existing
  // role only gets LOGIN and its new password.
  await sql
    .raw(
      existing
        ? `alter role ${user} login${password}`
        : `create role ${user} login nosuperuser nocreatedb nocreaterole nobypassrls${password}`,
    )
    .execute(owner);
  await sql.raw(`grant ${APP_ROLE} to ${user}`).execute(owner);
}

/** What `checkRuntimeRole` found about the connected role. */
export interface RuntimeRoleReport {
  role: string;
  superuser: boolean;
  bypassRls: boolean;
  ownsTables: boolean;
  memberOfApp: boolean;
}

/**
 * Checks that the connected role is safe to serve tenants with: not a superuser, no BYPASSRLS, not the
 * owner of the tables. The gateway refuses to start otherwise.
 *
 * @example
 * ```ts
 * await assertRuntimeRoleIsSafe(db); // throws naming the problem
 * ```
 */
export async function checkRuntimeRole<DB>(db: Kysely<DB>): Promise<RuntimeRoleReport> {
  const { rows } = await sql<RuntimeRoleReport>`
    select r.rolname as role, r.rolsuper as superuser, r.rolbypassrls as "bypassRls",
           exists (select 1 from pg_tables t where t.schemaname = 'cybernetic' and t.tablename = 'episodes'
                   and pg_has_role(current_user, t.tableowner, 'USAGE')) as "ownsTables",
           pg_has_role(current_user, ${APP_ROLE}, 'USAGE') as "memberOfApp"
      from pg_roles r where r.rolname = current_user`.execute(db);
  const row = rows[0];
  if (!row) throw new CyberneticError("internal", "could not read the current role");
  return row;
}

/** Throws `unavailable` naming the problem when `checkRuntimeRole` finds the role unsafe. */
export async function assertRuntimeRoleIsSafe<DB>(db: Kysely<DB>): Promise<RuntimeRoleReport> {
  const report = await checkRuntimeRole(db);
  const problems: string[] = [];
  if (report.superuser) problems.push("is a superuser");
  if (report.bypassRls) problems.push("has BYPASSRLS");
  if (report.ownsTables) problems.push("owns the cybernetic tables");
  if (!report.memberOfApp) problems.push(`is not a member of ${APP_ROLE}`);
  if (problems.length > 0) {
    throw new CyberneticError(
      "unavailable",
      `refusing to serve: database role "${report.role}" ${problems.join(", ")}, so row-level security would not isolate tenants; connect as a member of ${APP_ROLE} (see ensureRuntimeRole)`,
      { details: report },
    );
  }
  return report;
}
