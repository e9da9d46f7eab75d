/**
 * Child process of the api benchmark: `GET /v1/episodes?limit=20` written by hand the way a competent
 * developer would on fastify 5 + pg, the peer the gateway's route is measured against. Per request: look
 * up the API key's hash (the same SECURITY DEFINER function the platform uses, since the runtime role
 * cannot read other tenants' keys), check it (revoked, expired, tenant active, `read` scope), then
 * `BEGIN READ ONLY; select set_config('app.tenant_id', $1, true); select …; COMMIT` on a pool of the same
 * size as the gateway's, and the same rows and JSON (`{ items, nextCursor }`). No key cache, no rate
 * limiter, no access log, no outbox cursor: what the route needs and no more. Logging off. Prints
 * `READY <url>` when listening.
 *
 * BENCH_API_PEER_PRETENURING=off gives this process the V8 setting `cybernetic serve` gives the gateway
 * (allocation-site pretenuring off), to check that the comparison does not hinge on it.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import Fastify from "fastify";
import pg from "pg";

if (process.env.BENCH_API_PEER_PRETENURING === "off") setFlagsFromString("--no-allocation-site-pretenuring");

const url = process.env.BENCH_DATABASE_URL;
if (!url) throw new Error("BENCH_DATABASE_URL is required");
const pool = new pg.Pool({ connectionString: url, max: Number(process.env.BENCH_POOL_SIZE ?? 10) });
// An idle connection that dies (the bench ends them to read the statistics) is dropped and replaced.
pool.on("error", () => {});

interface EpisodeRow {
  id: string;
  unit_id: string | null;
  title: string;
  content: string;
  source: string | null;
  source_id: string | null;
  tags: string[];
  status: string;
  analysis: unknown;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  analyzed_at: Date | null;
  cursor_ts: string;
}

const LIST = `select id, unit_id, title, content, source, source_id, tags, status, analysis, error,
       created_at, updated_at, analyzed_at,
       to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as cursor_ts
  from cybernetic.episodes
 where tenant_id = $1
   and ($3::timestamptz is null or (created_at, id) < ($3::timestamptz, $4::uuid))
 order by created_at desc, id desc
 limit $2`;

const fail = (status: number, code: string, message: string) => ({
  status,
  body: { error: { code, message } },
});

const app = Fastify({ logger: false });
app.get<{ Querystring: { limit: number; cursor?: string } }>(
  "/v1/episodes",
  {
    schema: {
      querystring: {
        type: "object",
        properties: {
          limit: { type: "integer", minimum: 1, maximum: 100, default: 20 },
          cursor: { type: "string", minLength: 1, maxLength: 500 },
        },
        additionalProperties: false,
      },
    },
  },
  async (request, reply) => {
    const match = /^Bearer (\S+)$/.exec(request.headers.authorization ?? "");
    if (!match?.[1]) {
      const f = fail(401, "unauthorized", "an API key is required");
      return reply.code(f.status).send(f.body);
    }
    const hash = createHash("sha256").update(match[1], "utf8").digest();
    const { rows: keys } = await pool.query<{
      tenant_id: string;
      key_hash: Buffer;
      scopes: string[];
      expires_at: Date | null;
      revoked_at: Date | null;
      tenant_active: boolean;
    }>("select * from cybernetic.resolve_api_key($1)", [hash]);
    const key = keys[0];
    if (!key || !timingSafeEqual(key.key_hash, hash) || key.revoked_at !== null) {
      const f = fail(401, "unauthorized", "API key is not valid");
      return reply.code(f.status).send(f.body);
    }
    if (key.expires_at !== null && key.expires_at.getTime() <= Date.now()) {
      const f = fail(401, "unauthorized", "API key has expired");
      return reply.code(f.status).send(f.body);
    }
    if (!key.tenant_active || !key.scopes.includes("read")) {
      const f = fail(403, "forbidden", "not allowed");
      return reply.code(f.status).send(f.body);
    }
    let after: [string, string] | [null, null] = [null, null];
    if (request.query.cursor !== undefined) {
      try {
        const parsed = JSON.parse(Buffer.from(request.query.cursor, "base64url").toString("utf8"));
        if (!Array.isArray(parsed) || parsed.length !== 2) throw new Error("bad cursor");
        after = [String(parsed[0]), String(parsed[1])];
      } catch {
        const f = fail(400, "invalid_cursor", "cursor is not one this API returned");
        return reply.code(f.status).send(f.body);
      }
    }
    const limit = request.query.limit;
    const client = await pool.connect();
    let rows: EpisodeRow[];
    try {
      await client.query("begin read only");
      await client.query("select set_config('app.tenant_id', $1, true)", [key.tenant_id]);
      ({ rows } = await client.query<EpisodeRow>(LIST, [key.tenant_id, limit + 1, ...after]));
      await client.query("commit");
    } catch (error) {
      await client.query("rollback").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
    const page = rows.slice(0, limit);
    const items = page.map((r) => ({
      id: r.id,
      unitId: r.unit_id,
      title: r.title,
      content: r.content,
      source: r.source,
      sourceId: r.source_id,
      tags: r.tags,
      status: r.status,
      analysis: r.analysis,
      error: r.error,
      createdAt: r.created_at.toISOString(),
      updatedAt: r.updated_at.toISOString(),
      analyzedAt: r.analyzed_at === null ? null : r.analyzed_at.toISOString(),
    }));
    const last = page.at(-1);
    return rows.length > limit && last
      ? { items, nextCursor: Buffer.from(JSON.stringify([last.cursor_ts, last.id])).toString("base64url") }
      : { items };
  },
);
const address = await app.listen({ port: 0, host: "127.0.0.1" });
process.stdout.write(`READY ${address}\n`);
process.on("SIGTERM", () => {
  void app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
