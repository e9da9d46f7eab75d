/** Help texts of the `cybernetic` CLI. */

export const MAIN_HELP = `cybernetic: run the Cybernetic gateway, its workers and its database chores

Usage:
  cybernetic <command> [options]

Commands:
  serve                 the HTTP gateway with in-process workers (embedded PostgreSQL when DATABASE_URL is unset)
  worker                the workers only (needs DATABASE_URL)
  migrate               apply database migrations (as DATABASE_OWNER_URL, or DATABASE_URL)
  tenant create <slug>  create a tenant and print its first API key (shown once)

Options:
  -h, --help            help (also: cybernetic <command> --help)
  -v, --version         print the version

Configuration comes from environment variables; see docs/configuration.md.
`;

export const COMMAND_HELP: Record<string, string> = {
  serve: `cybernetic serve: the HTTP gateway, with the workers running in the same process

Usage:
  cybernetic serve [--no-workers]

Options:
  --no-workers   serve HTTP only (run \`cybernetic worker\` elsewhere)
  -h, --help     this help

With DATABASE_URL unset, PostgreSQL runs embedded with its data under CYBERNETIC_DATA_DIR
(default ./.cybernetic, kept across restarts), files go to local storage in the same folder, and
the first start creates a "default" tenant and prints its API key.
With DATABASE_URL set, migrations are applied when DATABASE_OWNER_URL is set too.
The server refuses to start when its database role could bypass row-level security.
SIGTERM or SIGINT (Ctrl-C) stops accepting, finishes in-flight requests and jobs, closes the
database (and the embedded PostgreSQL), and exits 0 within SHUTDOWN_TIMEOUT_MS.
`,
  worker: `cybernetic worker: run the job workers (episode analysis, policy evaluation, notifications)

Usage:
  cybernetic worker

Options:
  -h, --help     this help

Needs DATABASE_URL (the embedded database lives inside \`cybernetic serve\`).
WORKER_CONCURRENCY sets how many jobs run at once.
`,
  migrate: `cybernetic migrate: apply the database migrations

Usage:
  cybernetic migrate [--status] [--print-sql]

Options:
  --status       list the migrations and when each was applied; change nothing
  --print-sql    print the SQL of every migration (for review or manual application); no database needed
  -h, --help     this help

Connects as DATABASE_OWNER_URL (or DATABASE_URL); without either, to the embedded database.
`,
  tenant: `cybernetic tenant create: create a tenant

Usage:
  cybernetic tenant create <slug> [--name <name>] [--json]

Options:
  --name <name>  display name (default: the slug)
  --json         print { tenant, apiKey } as JSON
  -h, --help     this help

Prints the tenant's first API key. It is shown this once: only its hash is stored.
`,
};
