/** Help texts of the `cybernetic` CLI. */

export const MAIN_HELP = `cybernetic: run the Cybernetic gateway, its workers and its database chores

Usage:
  cybernetic <command> [options]

Commands:
  serve                 the HTTP gateway with in-process workers (embedded PostgreSQL when DATABASE_URL is unset)
  worker                the workers only (needs DATABASE_URL)
  migrate               apply database migrations (as DATABASE_OWNER_URL, or DATABASE_URL)
  tenant create <slug>  create a tenant and print its first API key (shown once)
  tenant key <slug>     issue another API key for a tenant (shown once)
  telegram set-webhook --url <public url> [--tenant <slug>]
                        register the Telegram webhook (also: delete-webhook, webhook-info)
  dead-letters          list dead-lettered jobs; retry or discard them
  help [<command>]      this help, or a command's

Options:
  -h, --help            help (also: cybernetic <command> --help)
  -v, --version         print the version

Configuration comes from environment variables; see docs/configuration.md.
In a clone of the repository: \`pnpm cybernetic <command>\`; where @cybernetic/gateway is installed:
\`npx cybernetic <command>\`.
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
WORKER_CONCURRENCY sets how many jobs run at once. With WORKER_PORT set, serves GET /health and
GET /metrics (jobs, queue depths) on that port for probes and Prometheus.
`,
  migrate: `cybernetic migrate: apply the database migrations

Usage:
  cybernetic migrate [--status] [--print-sql]

Options:
  --status       list the migrations and when each was applied; change nothing
  --print-sql    print the SQL of every migration (for review or manual application); no database needed
  -h, --help     this help

Connects as DATABASE_OWNER_URL (or DATABASE_URL); without either, to the embedded database.
With both DATABASE_OWNER_URL and DATABASE_URL set, it also creates (or updates) the runtime login role
that DATABASE_URL names, with its password, as a member of cybernetic_app: the role \`serve\` and
\`worker\` connect as. Safe to run again, and from several replicas at once.
`,
  "dead-letters": `cybernetic dead-letters: the jobs that ran out of retries

Usage:
  cybernetic dead-letters                          each dead-letter queue and its jobs
  cybernetic dead-letters retry <queue> [--limit N] put up to N (default 100) of them back on <queue>
  cybernetic dead-letters discard <queue> [--limit N]  remove up to N of them

Options:
  --limit <n>    at most this many jobs per run (1..10000, default 100)
  -h, --help     this help

<queue> is the job's queue (episode.analyze, policy.evaluate, notification.send, …), not its ".dead"
queue. Retried jobs start a fresh set of retries; jobs are idempotent, so retrying one twice does its
effect once. Needs DATABASE_URL (DATABASE_DIRECT_URL when it goes through a pooler).
`,
  tenant: `cybernetic tenant: create a tenant, or issue another key for one

Usage:
  cybernetic tenant create <slug> [--name <name>] [--json]
  cybernetic tenant key <slug> [--name <name>] [--json]

Options:
  --name <name>  create: display name (default: the slug); key: the key's name (default: cli)
  --json         print the result as JSON (create: { tenant, apiKey }; key: the issued key)
  -h, --help     this help

Prints an API key with every scope. It is shown this once: only its hash is stored.
With DATABASE_URL unset, works on the embedded database, also while \`cybernetic serve\` runs on it.
`,
  telegram: `cybernetic telegram: register the Telegram webhook with the Bot API, remove it, or show it

Usage:
  cybernetic telegram set-webhook --url <public url> [--tenant <slug>] [--drop-pending-updates]
                                  [--max-connections <1-100>] [--json]
  cybernetic telegram delete-webhook [--tenant <slug>] [--drop-pending-updates] [--json]
  cybernetic telegram webhook-info [--tenant <slug>] [--json]

Options:
  --url <url>              the gateway's public base URL (https://bot.example.com); the webhook's path
                           (/telegram/webhook, or /telegram/webhook/<slug> with --tenant) is added
  --tenant <slug>          a tenant's own bot (settings.telegram.botToken and webhookSecret); without it,
                           the platform's bot (TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET) for TELEGRAM_TENANT
  --drop-pending-updates   drop the updates Telegram is holding for the bot
  --max-connections <n>    Telegram's parallel connections to the webhook (its default: 40)
  --json                   print the result as JSON
  -h, --help               this help

set-webhook sends the secret token (checked on every update) and the update types the platform
handles (message, callback_query, my_chat_member). TELEGRAM_API_BASE_URL points it at another Bot API
(a local one, or the fake in examples/telegram-bot). With --tenant, reads the tenant from the database
(the embedded one when DATABASE_URL is unset). Tokens and secrets are never printed.
`,
};
