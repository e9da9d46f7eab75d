import { type Selectable, sql } from "kysely";
import type { Page } from "../contract/common.js";
import {
  createEpisodeSchema,
  type Episode,
  type EpisodeStatus,
  listEpisodesSchema,
} from "../contract/episodes.js";
import type { Db } from "../database.js";
import { CyberneticError, notFound } from "../errors.js";
import { appendEvent } from "../events/append-event.js";
import { decodeCursor, encodeCursor, isIsoTimestamp, isUuidString } from "../internal/cursor.js";
import { QueryShapes } from "../internal/query-shapes.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { JobQueue } from "../jobs.js";
import type { Database, EpisodesTable, JsonObject } from "../schema.js";
import { assertUuid, type TenantTransaction, withTenant } from "../tenant-context.js";
import { targetUnitIn } from "./unit-records.js";

/** Result of `episodes.create`: `created` is false when the same source message was ingested before. */
export interface CreateEpisodeResult {
  episode: Episode;
  created: boolean;
  /** The analysis job's id when one was enqueued. */
  jobId?: string | null;
}

/** Episodes: things that happened, analysed by S4. */
export interface EpisodeService {
  /**
   * Records an episode (status `pending`), its `episode.created` event and, when a queue is configured,
   * its `episode.analyze` job, in one transaction. Ingesting the same `(source, sourceId)` twice returns
   * the first episode with `created: false`.
   *
   * @example
   * ```ts
   * const { episode } = await platform.episodes.create(tenantId, { title: "Outage", content: "…", tags: ["ops"] });
   * ```
   */
  create(tenantId: string, input: unknown): Promise<CreateEpisodeResult>;
  /** As `create`, inside an existing tenant transaction. */
  createIn(trx: TenantTransaction, tenantId: string, input: unknown): Promise<CreateEpisodeResult>;
  /** One episode; `not_found` for unknown ids and for other tenants' ids alike. */
  get(tenantId: string, id: string): Promise<Episode>;
  /** Newest first, keyset-paginated; filters by status and tag. */
  list(tenantId: string, input?: unknown): Promise<Page<Episode>>;
  /**
   * Moves an episode to `analyzing` (from pending, failed, or analyzing when a crashed worker's job is
   * retried). Returns null when the episode is already complete (a retried job must not redo it).
   */
  startAnalysis(trx: TenantTransaction, id: string): Promise<Episode | null>;
  /** analyzing → complete, storing the analysis; writes `episode.analyzed`. */
  completeAnalysis(
    trx: TenantTransaction,
    tenantId: string,
    id: string,
    analysis: JsonObject,
  ): Promise<Episode>;
  /** → failed with an error message; writes `episode.failed`. */
  failAnalysis(trx: TenantTransaction, tenantId: string, id: string, error: string): Promise<Episode>;
  /** complete | failed → pending and enqueue a new analysis (`POST /v1/episodes/:id/analyze`). */
  requestAnalysis(tenantId: string, id: string): Promise<CreateEpisodeResult>;
}

/** The values of an episode list read: one bind parameter each. */
interface EpisodeListValues extends Record<string, unknown> {
  tenantId: string;
  status: string;
  tag: string;
  unitId: string;
  createdAt: string;
  id: string;
  limit: number;
}

/** Which of the list's optional filters a read has, one letter each (s, t, u, a), or "-". */
const listShape = (status?: string, tag?: string, unitId?: string, after?: unknown) =>
  `${status ? "s" : ""}${tag ? "t" : ""}${unitId ? "u" : ""}${after ? "a" : ""}` || "-";

/** The episode list, compiled once per combination of filters. */
const episodeList = new QueryShapes<
  string,
  EpisodeListValues,
  Selectable<EpisodesTable> & { cursor_ts: string },
  Database
>((trx, shape, slot) => {
  let q = trx
    .selectFrom("episodes")
    .selectAll()
    .select(
      sql<string>`to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as("cursor_ts"),
    )
    .where("tenant_id", "=", slot("tenantId"))
    .orderBy("created_at", "desc")
    .orderBy("id", "desc")
    .limit(slot("limit"));
  if (shape.includes("s")) q = q.where("status", "=", slot("status") as EpisodeStatus);
  if (shape.includes("t")) q = q.where("tags", "@>", sql<string[]>`array[${slot("tag")}]::text[]`);
  if (shape.includes("u")) q = q.where("unit_id", "=", slot("unitId"));
  if (shape.includes("a"))
    q = q.where(sql<boolean>`(created_at, id) < (${slot("createdAt")}::timestamptz, ${slot("id")}::uuid)`);
  return q;
});

/** Maps an episodes row to the API shape. */
export function toEpisode(row: Selectable<EpisodesTable>): Episode {
  return {
    id: row.id,
    unitId: row.unit_id,
    title: row.title,
    content: row.content,
    source: row.source,
    sourceId: row.source_id,
    tags: row.tags,
    status: row.status as EpisodeStatus,
    analysis: row.analysis,
    error: row.error,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
    analyzedAt: iso(row.analyzed_at),
  };
}

/** Creates the episode service. */
export function createEpisodeService(db: Db, queue?: JobQueue): EpisodeService {
  const enqueueAnalysis = (trx: TenantTransaction, tenantId: string, episodeId: string) =>
    queue
      ? queue.enqueue(
          trx,
          "episode.analyze",
          { tenantId, episodeId },
          { singletonKey: `analyze:${episodeId}` },
        )
      : null;

  const transition = async (
    trx: TenantTransaction,
    id: string,
    from: readonly EpisodeStatus[],
    to: EpisodeStatus,
    set: Partial<{ analysis: string | null; error: string | null; analyzed_at: Date | null }> = {},
  ): Promise<Selectable<EpisodesTable>> => {
    const episodeId = assertUuid(id, "id");
    const row = await trx
      .updateTable("episodes")
      .set({ status: to, updated_at: sql<Date>`now()`, ...set })
      .where("id", "=", episodeId)
      .where("status", "in", [...from])
      .returningAll()
      .executeTakeFirst();
    if (row) return row;
    const current = await trx
      .selectFrom("episodes")
      .select("status")
      .where("id", "=", episodeId)
      .executeTakeFirst();
    if (!current) throw notFound("episode", episodeId);
    throw new CyberneticError("conflict", `episode is ${current.status}; cannot move it to ${to}`, {
      details: { status: current.status, to },
    });
  };

  const createIn = async (
    trx: TenantTransaction,
    tenantId: string,
    raw: unknown,
  ): Promise<CreateEpisodeResult> => {
    const input = parseInput(createEpisodeSchema, raw, "episode");
    const unit = input.unitId === undefined ? undefined : (await targetUnitIn(trx, input.unitId)).id;
    const inserted = await trx
      .insertInto("episodes")
      .values({
        tenant_id: tenantId,
        ...(unit === undefined ? {} : { unit_id: unit }),
        title: input.title,
        content: input.content,
        source: input.source,
        source_id: input.sourceId ?? null,
        tags: [...new Set(input.tags)],
      })
      .onConflict((oc) => oc.columns(["tenant_id", "source", "source_id"]).doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!inserted) {
      const existing = await trx
        .selectFrom("episodes")
        .selectAll()
        .where("source", "=", input.source)
        .where("source_id", "=", input.sourceId ?? "")
        .executeTakeFirstOrThrow();
      return { episode: toEpisode(existing), created: false };
    }
    await appendEvent(trx, tenantId, "episode.created", {
      episodeId: inserted.id,
      title: inserted.title,
      source: inserted.source,
      tags: inserted.tags,
      unitId: inserted.unit_id,
    });
    const jobId = await enqueueAnalysis(trx, tenantId, inserted.id);
    return { episode: toEpisode(inserted), created: true, jobId };
  };

  return {
    createIn,
    create: (tenantId, raw) => withTenant(db, tenantId, (trx) => createIn(trx, tenantId, raw)),

    async get(tenantId, id) {
      const episodeId = assertUuid(id, "id");
      const row = await withTenant(
        db,
        tenantId,
        (trx) => trx.selectFrom("episodes").selectAll().where("id", "=", episodeId).executeTakeFirst(),
        { readOnly: true },
      );
      if (!row) throw notFound("episode", episodeId);
      return toEpisode(row);
    },

    async list(tenantId, raw = {}) {
      const input = parseInput(listEpisodesSchema, raw, "query");
      const after =
        input.cursor === undefined
          ? undefined
          : decodeCursor<[string, string]>(input.cursor, [isIsoTimestamp, isUuidString]);
      const rows = await withTenant(
        db,
        tenantId,
        (trx) =>
          episodeList.run(trx, listShape(input.status, input.tag, input.unitId, after), {
            tenantId,
            status: input.status ?? "",
            tag: input.tag ?? "",
            unitId: input.unitId ?? "",
            createdAt: after?.[0] ?? "",
            id: after?.[1] ?? "",
            limit: input.limit + 1,
          }),
        { readOnly: true },
      );
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      // The cursor keeps created_at to the microsecond (a JS Date would round it to the millisecond and
      // skip rows created within the same millisecond as the page's last one).
      return rows.length > input.limit && last
        ? { items: page.map(toEpisode), nextCursor: encodeCursor([last.cursor_ts, last.id]) }
        : { items: page.map(toEpisode) };
    },

    async startAnalysis(trx, id) {
      const episodeId = assertUuid(id, "id");
      const row = await trx
        .updateTable("episodes")
        .set({ status: "analyzing", error: null, updated_at: sql<Date>`now()` })
        .where("id", "=", episodeId)
        .where("status", "in", ["pending", "failed", "analyzing"])
        .returningAll()
        .executeTakeFirst();
      if (row) return toEpisode(row);
      const current = await trx
        .selectFrom("episodes")
        .select("status")
        .where("id", "=", episodeId)
        .executeTakeFirst();
      if (!current) throw notFound("episode", episodeId);
      return null;
    },

    async completeAnalysis(trx, tenantId, id, analysis) {
      const row = await transition(trx, id, ["analyzing"], "complete", {
        analysis: JSON.stringify(analysis),
        error: null,
        analyzed_at: new Date(),
      });
      await appendEvent(trx, tenantId, "episode.analyzed", {
        episodeId: row.id,
        title: row.title,
        risk: ((analysis.risk as JsonObject | undefined)?.level as string | undefined) ?? null,
        systems: (analysis.systems as number[] | undefined) ?? [],
        sentiment: ((analysis.sentiment as JsonObject | undefined)?.label as string | undefined) ?? null,
        unitId: row.unit_id,
      });
      return toEpisode(row);
    },

    async failAnalysis(trx, tenantId, id, error) {
      const row = await transition(trx, id, ["pending", "analyzing"], "failed", {
        error: error.slice(0, 2000),
      });
      await appendEvent(trx, tenantId, "episode.failed", {
        episodeId: row.id,
        error: row.error,
        unitId: row.unit_id,
      });
      return toEpisode(row);
    },

    requestAnalysis(tenantId, id) {
      return withTenant(db, tenantId, async (trx) => {
        const row = await transition(trx, id, ["complete", "failed"], "pending", { error: null });
        const jobId = await enqueueAnalysis(trx, tenantId, row.id);
        return { episode: toEpisode(row), created: false, jobId };
      });
    },
  };
}
