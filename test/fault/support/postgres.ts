/**
 * What the fault suite does to PostgreSQL from the outside, over an admin (superuser) connection, as an
 * operator or a failover would: end every connection of one database, and read rows back past
 * row-level security to check what was stored.
 */
import pg from "pg";

/** Runs `fn` on a fresh admin connection (closed afterwards; its own errors never go unheard). */
export async function onAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * `pg_terminate_backend` on every connection to `database` but the caller's own: what an operator, a
 * pooler restart or a failover does. Returns how many were ended.
 */
export async function terminateConnections(adminUrl: string, database: string): Promise<number> {
  return onAdmin(adminUrl, async (client) => {
    const { rows } = await client.query<{ ended: boolean }>(
      "select pg_terminate_backend(pid) as ended from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [database],
    );
    return rows.filter((r) => r.ended).length;
  });
}

/** Connections currently open to `database` (other than the caller's). */
export async function connectionCount(adminUrl: string, database: string): Promise<number> {
  return onAdmin(adminUrl, async (client) => {
    const { rows } = await client.query<{ n: number }>(
      "select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [database],
    );
    return rows[0]?.n ?? 0;
  });
}

/** The ids among `ids` that exist in `cybernetic.episodes` (read as the superuser: no RLS). */
export async function storedEpisodeIds(adminUrl: string, ids: readonly string[]): Promise<Set<string>> {
  return onAdmin(adminUrl, async (client) => {
    const { rows } = await client.query<{ id: string }>(
      "select id::text from cybernetic.episodes where id = any($1::uuid[])",
      [ids],
    );
    return new Set(rows.map((r) => r.id));
  });
}

/** Episodes by status (`{ complete: 120, pending: 3 }`). */
export async function episodeStatuses(adminUrl: string): Promise<Record<string, number>> {
  return onAdmin(adminUrl, async (client) => {
    const { rows } = await client.query<{ status: string; n: number }>(
      "select status, count(*)::int as n from cybernetic.episodes group by status order by status",
    );
    return Object.fromEntries(rows.map((r) => [r.status, r.n]));
  });
}
