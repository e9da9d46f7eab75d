#!/bin/sh
# Entrypoint of the cybernetic image; it also runs outside one (CYBERNETIC_HOME names the gateway package,
# default /app, where the image has it).
#   1. Waits until PostgreSQL takes a login (DATABASE_OWNER_URL, else DATABASE_URL) for at most
#      DATABASE_WAIT_SECONDS (default 60), without pg_isready: with node and the image's own pg driver. A
#      refused password or a missing database stops at once: waiting would not fix them.
#   2. With DATABASE_OWNER_URL set, runs `cybernetic migrate`: the migrations, the job queue's schema and
#      the runtime login role named by DATABASE_URL, each under an advisory lock, so replicas starting at
#      once are safe (one applies, the others find nothing to do).
#   3. Execs `cybernetic <command> [args]` (default: serve), or any other program given instead (sh, node).
set -eu

home=${CYBERNETIC_HOME:-/app}
cli="$home/dist/cli.js"

[ "$#" -gt 0 ] || set -- serve
case "$1" in
  serve | worker | migrate | tenant | dead-letters | help | --help | -h | --version | -v) ;;
  *) exec "$@" ;;
esac

if [ -n "${DATABASE_OWNER_URL:-}${DATABASE_URL:-}" ]; then
  # Resolves `pg` from the gateway package's own dependencies.
  (cd "$home" && node --input-type=module) <<'JS'
import pg from "pg";

const url = process.env.DATABASE_OWNER_URL || process.env.DATABASE_URL;
const seconds = Number(process.env.DATABASE_WAIT_SECONDS || 60);
const where = (() => {
  const u = new URL(url);
  return `${u.hostname || u.searchParams.get("host") || "localhost"}:${u.port || 5432}`;
})();
// Not worth waiting for: a wrong password or role (28P01, 28000), a database that does not exist (3D000).
const FATAL = new Set(["28P01", "28000", "3D000"]);
const deadline = Date.now() + seconds * 1000;
let said = 0;
for (;;) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("select 1");
    await client.end();
    break;
  } catch (error) {
    await client.end().catch(() => {});
    const reason = error.code || String(error.message).split("\n")[0];
    if (FATAL.has(error.code)) {
      console.error(`entrypoint: PostgreSQL at ${where} refused the login: ${error.message}`);
      process.exit(1);
    }
    if (Date.now() > deadline) {
      console.error(`entrypoint: PostgreSQL at ${where} did not answer within ${seconds} s (${reason})`);
      process.exit(1);
    }
    if (Date.now() - said > 5000) {
      console.error(`entrypoint: waiting for PostgreSQL at ${where} (${reason})`);
      said = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
JS
fi

if [ -n "${DATABASE_OWNER_URL:-}" ] && [ "$1" != migrate ]; then
  node "$cli" migrate
fi
exec node "$cli" "$@"
