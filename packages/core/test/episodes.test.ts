/**
 * Episodes: creation with its event and analysis job (in one transaction), deduplication by
 * (source, sourceId), keyset pagination that survives equal timestamps, filters, and the status machine.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { episodeInput, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import {
  type EnqueueOptions,
  type Episode,
  type JobName,
  type JobPayloads,
  type JobQueue,
  type TenantTransaction,
  withTenant,
} from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

/** What the fake queue saw: the call, and whether the episode was visible through the `trx` it got. */
interface EnqueueCall {
  name: JobName;
  payload: unknown;
  options: EnqueueOptions | undefined;
  /** The episode's status as seen through the caller's transaction at enqueue time (null: not visible). */
  seenStatus: string | null;
  /** Whether another connection could see the episode at enqueue time (undefined: no probe set). */
  visibleOutside?: boolean;
  /** What enqueue returned (null when it threw). */
  jobId: string | null;
}

/**
 * A test double of the `JobQueue` interface boundary (the pg-boss implementation lives in workers): it
 * records calls, looks the episode up through the transaction it was handed, and inserts nothing. Set
 * `failWith` to make the next enqueue throw.
 */
class RecordingQueue implements JobQueue {
  calls: EnqueueCall[] = [];
  failWith: Error | undefined;
  /** Looks the episode up from another connection, to show the caller's transaction is still open. */
  probe: ((tenantId: string, episodeId: string) => Promise<boolean>) | undefined;
  private n = 0;

  async enqueue<N extends JobName>(
    trx: TenantTransaction,
    name: N,
    payload: JobPayloads[N],
    options?: EnqueueOptions,
  ): Promise<string | null> {
    const episodeId = (payload as { episodeId?: string }).episodeId;
    const row = episodeId
      ? await trx.selectFrom("episodes").select("status").where("id", "=", episodeId).executeTakeFirst()
      : undefined;
    const call: EnqueueCall = { name, payload, options, seenStatus: row?.status ?? null, jobId: null };
    const { tenantId } = payload as { tenantId?: string };
    if (this.probe && tenantId && episodeId) call.visibleOutside = await this.probe(tenantId, episodeId);
    this.calls.push(call);
    if (this.failWith) {
      const error = this.failWith;
      this.failWith = undefined;
      throw error;
    }
    call.jobId = `job-${++this.n}`;
    return call.jobId;
  }
}

describe("episodes", () => {
  const queue = new RecordingQueue();
  const ctx = useTestPlatform({ queue: () => queue });
  const tenant = async () => (await seedTenant(ctx.platform)).tenant.id;

  const eventsOf = (tenantId: string, type?: string) =>
    withTenant(ctx.db, tenantId, (trx) => {
      let q = trx.selectFrom("events").select(["type", "data", "tenant_id"]).orderBy("seq");
      if (type) q = q.where("type", "=", type);
      return q.execute();
    });

  const pageAll = async (tenantId: string, query: Record<string, unknown>) => {
    const seen: Episode[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await ctx.platform.episodes.list(tenantId, { ...query, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    return { seen, pages };
  };

  describe("create", () => {
    it("records a pending episode, its episode.created event and an episode.analyze job", async () => {
      const t = await tenant();
      queue.probe = async (tenantId, episodeId) =>
        (await withTenant(ctx.db, tenantId, (trx) =>
          trx.selectFrom("episodes").select("id").where("id", "=", episodeId).executeTakeFirst(),
        )) !== undefined;
      const input = episodeInput({ tags: ["ops", "night"], sourceId: undefined });
      const { episode, created, jobId } = await ctx.platform.episodes.create(t, input);
      expect(created).toBe(true);
      expect(episode).toMatchObject({
        title: input.title,
        content: input.content,
        source: "api",
        sourceId: null,
        tags: ["ops", "night"],
        status: "pending",
        analysis: null,
        error: null,
        analyzedAt: null,
      });
      expect(await ctx.platform.episodes.get(t, episode.id)).toEqual(episode);
      expect(await eventsOf(t)).toEqual([
        {
          type: "episode.created",
          tenant_id: t,
          data: {
            episodeId: episode.id,
            title: episode.title,
            source: "api",
            tags: ["ops", "night"],
            unitId: episode.unitId,
          },
        },
      ]);
      const call = queue.calls.at(-1);
      expect(call).toEqual({
        name: "episode.analyze",
        payload: { tenantId: t, episodeId: episode.id },
        options: { singletonKey: `analyze:${episode.id}` },
        // Enqueued inside the transaction that wrote the episode: its trx sees the row, nobody else does yet.
        seenStatus: "pending",
        visibleOutside: false,
        jobId: expect.any(String),
      });
      queue.probe = undefined;
      expect(jobId).toBe(call?.jobId);
    });

    it("applies defaults, trims, and de-duplicates tags", async () => {
      const t = await tenant();
      const { episode } = await ctx.platform.episodes.create(t, {
        title: "  Outage  ",
        tags: [" ops ", "ops", "sev:1", "ops"],
      });
      expect(episode).toMatchObject({ title: "Outage", content: "", source: "api", tags: ["ops", "sev:1"] });
    });

    it("when enqueueing fails, the episode and its event are rolled back", async () => {
      const t = await tenant();
      const before = queue.calls.length;
      queue.failWith = new Error("queue is down");
      await expect(ctx.platform.episodes.create(t, episodeInput({ title: "doomed" }))).rejects.toThrow(
        "queue is down",
      );
      expect(queue.calls.length).toBe(before + 1);
      expect(queue.calls.at(-1)?.seenStatus).toBe("pending");
      expect((await ctx.platform.episodes.list(t)).items).toEqual([]);
      expect(await eventsOf(t)).toEqual([]);
      // And the same input succeeds afterwards.
      expect((await ctx.platform.episodes.create(t, episodeInput({ title: "doomed" }))).created).toBe(true);
    });

    it("a (source, sourceId) seen before returns the first episode with created: false and no new event", async () => {
      const t = await tenant();
      const input = episodeInput({ source: "telegram", sourceId: "chat-1:42" });
      const first = await ctx.platform.episodes.create(t, input);
      const jobs = queue.calls.length;
      const again = await ctx.platform.episodes.create(t, { ...input, title: "a retry with another title" });
      expect(again.created).toBe(false);
      expect(again.episode).toEqual(first.episode);
      expect(queue.calls.length).toBe(jobs);
      expect(await eventsOf(t, "episode.created")).toHaveLength(1);
      // Same sourceId from another source, or in another tenant, is a different episode.
      expect((await ctx.platform.episodes.create(t, { ...input, source: "email" })).created).toBe(true);
      const other = await tenant();
      expect((await ctx.platform.episodes.create(other, input)).created).toBe(true);
      // Without a sourceId nothing is deduplicated.
      const loose = episodeInput();
      const a = await ctx.platform.episodes.create(t, loose);
      const b = await ctx.platform.episodes.create(t, loose);
      expect(a.episode.id).not.toBe(b.episode.id);
    });

    it("five concurrent creates of one (source, sourceId) make one row", async () => {
      const t = await tenant();
      const input = episodeInput({ source: "telegram", sourceId: `update-${randomUUID()}` });
      const results = await Promise.all(
        Array.from({ length: 5 }, () => ctx.platform.episodes.create(t, input)),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.episode.id)).size).toBe(1);
      const rows = await withTenant(ctx.db, t, (trx) =>
        trx.selectFrom("episodes").select("id").where("source_id", "=", input.sourceId!).execute(),
      );
      expect(rows).toHaveLength(1);
      expect(await eventsOf(t, "episode.created")).toHaveLength(1);
    });

    const bad: [string, Record<string, unknown>, string][] = [
      ["an empty title", { title: "" }, "title"],
      ["a whitespace title", { title: "   " }, "title"],
      ["a 501-character title", { title: "t".repeat(501) }, "title"],
      ["a numeric title", { title: 5 }, "title"],
      ["content over 1,000,000 characters", { content: "c".repeat(1_000_001) }, "content"],
      ["content that is an object", { content: { text: "x" } }, "content"],
      ["an uppercase source", { source: "Telegram" }, "source"],
      ["a source with a space", { source: "tele gram" }, "source"],
      ["a 101-character source", { source: "s".repeat(101) }, "source"],
      ["an empty sourceId", { sourceId: "" }, "sourceId"],
      ["a 201-character sourceId", { sourceId: "s".repeat(201) }, "sourceId"],
      ["a numeric sourceId", { sourceId: 42 }, "sourceId"],
      ["tags that are a string", { tags: "ops" }, "tags"],
      ["a tag with a space", { tags: ["night shift"] }, "tags.0"],
      ["an empty tag", { tags: ["ok", ""] }, "tags.1"],
      ["a 65-character tag", { tags: ["t".repeat(65)] }, "tags.0"],
      ["51 tags", { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, "tags"],
    ];
    it.each(bad)("rejects %s naming the field", async (_, overrides, path) => {
      const t = await tenant();
      await expectError(
        ctx.platform.episodes.create(t, { ...episodeInput(), ...overrides }),
        "validation_failed",
        { field: path.split(".")[0], path },
      );
      expect((await ctx.platform.episodes.list(t)).items).toEqual([]);
    });

    it("rejects unknown fields (strict), naming them, and a missing body", async () => {
      const t = await tenant();
      await expectError(
        ctx.platform.episodes.create(t, { ...episodeInput(), status: "complete" }),
        "validation_failed",
        { field: "status" },
      );
      await expectError(ctx.platform.episodes.create(t, undefined), "validation_failed");
    });

    it("a malformed tenant id is validation_failed; an unknown tenant is not_found", async () => {
      await expectError(ctx.platform.episodes.create("acme", episodeInput()), "validation_failed", {
        path: "tenantId",
      });
      await expectError(ctx.platform.episodes.create(randomUUID(), episodeInput()), "not_found");
    });
  });

  describe("get", () => {
    it("another tenant's episode id is not_found, as is an unknown id; a malformed id is validation_failed", async () => {
      const a = await tenant();
      const b = await tenant();
      const { episode } = await ctx.platform.episodes.create(b, episodeInput());
      await expectError(ctx.platform.episodes.get(a, episode.id), "not_found", { field: episode.id });
      await expectError(ctx.platform.episodes.get(a, randomUUID()), "not_found");
      await expectError(ctx.platform.episodes.get(a, "42"), "validation_failed", { field: "id", path: "id" });
      expect((await ctx.platform.episodes.get(b, episode.id.toUpperCase())).id).toBe(episode.id);
    });
  });

  describe("list", () => {
    it("pages newest first across pages of episodes created in the same instant: none skipped or repeated", async () => {
      const t = await tenant();
      // One transaction: now() is the same for all 25, so created_at ties everywhere and only the id orders them.
      const ids = await withTenant(ctx.db, t, async (trx) => {
        const out: string[] = [];
        for (let i = 0; i < 25; i++) {
          out.push(
            (await ctx.platform.episodes.createIn(trx, t, episodeInput({ title: `same ${i}` }))).episode.id,
          );
        }
        return out;
      });
      const all = (await ctx.platform.episodes.list(t, { limit: 100 })).items;
      expect(new Set(all.map((e) => e.createdAt)).size).toBe(1);

      const { seen, pages } = await pageAll(t, { limit: 7 });
      expect(pages).toBe(4);
      expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
      expect(new Set(seen.map((e) => e.id))).toEqual(new Set(ids));
      expect(seen.map((e) => e.id)).toEqual([...ids].sort().reverse());
    });

    it("pages 25 episodes created quickly one after another newest first, with string limits", async () => {
      const t = await tenant();
      const ids: string[] = [];
      for (let i = 0; i < 25; i++)
        ids.push((await ctx.platform.episodes.create(t, episodeInput())).episode.id);
      const { seen, pages } = await pageAll(t, { limit: "7" });
      expect(pages).toBe(4);
      expect(seen.map((e) => e.id)).toEqual([...ids].reverse());
      for (let i = 1; i < seen.length; i++) {
        expect(Date.parse(seen[i - 1]!.createdAt)).toBeGreaterThanOrEqual(Date.parse(seen[i]!.createdAt));
      }
    });

    it("pages 25 episodes created concurrently: none skipped or repeated", async () => {
      const t = await tenant();
      const created = await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          ctx.platform.episodes.create(t, episodeInput({ title: `c${i}` })),
        ),
      );
      const { seen } = await pageAll(t, { limit: 7 });
      expect(seen).toHaveLength(25);
      expect(new Set(seen.map((e) => e.id))).toEqual(new Set(created.map((c) => c.episode.id)));
    });

    it("filters by status and by tag, and pages within the filter", async () => {
      const t = await tenant();
      const make = async (tags: string[]) =>
        (await ctx.platform.episodes.create(t, episodeInput({ tags }))).episode;
      const red = [await make(["red"]), await make(["red", "blue"]), await make(["red"])];
      const blue = await make(["blue"]);
      await withTenant(ctx.db, t, async (trx) => {
        await ctx.platform.episodes.startAnalysis(trx, red[0]!.id);
        await ctx.platform.episodes.startAnalysis(trx, blue.id);
        await ctx.platform.episodes.failAnalysis(trx, t, blue.id, "boom");
      });

      const byTag = await pageAll(t, { tag: "red", limit: 2 });
      expect(byTag.seen.map((e) => e.id)).toEqual(red.map((e) => e.id).reverse());
      expect(byTag.pages).toBe(2);
      expect((await ctx.platform.episodes.list(t, { tag: "blue" })).items.map((e) => e.id)).toEqual([
        blue.id,
        red[1]!.id,
      ]);
      expect((await ctx.platform.episodes.list(t, { tag: "green" })).items).toEqual([]);

      const pending = await ctx.platform.episodes.list(t, { status: "pending" });
      expect(pending.items.map((e) => e.id)).toEqual([red[2]!.id, red[1]!.id]);
      expect((await ctx.platform.episodes.list(t, { status: "analyzing" })).items.map((e) => e.id)).toEqual([
        red[0]!.id,
      ]);
      expect(
        (await ctx.platform.episodes.list(t, { status: "failed", tag: "blue" })).items.map((e) => e.id),
      ).toEqual([blue.id]);
      expect((await ctx.platform.episodes.list(t, { status: "complete" })).items).toEqual([]);
    });

    it("shows only the tenant's own episodes", async () => {
      const a = await tenant();
      const b = await tenant();
      await ctx.platform.episodes.create(b, episodeInput());
      const mine = await ctx.platform.episodes.create(a, episodeInput());
      expect((await ctx.platform.episodes.list(a)).items.map((e) => e.id)).toEqual([mine.episode.id]);
    });

    const badQueries: [string, Record<string, unknown>, string][] = [
      ["limit 0", { limit: 0 }, "limit"],
      ["limit 101", { limit: 101 }, "limit"],
      ["a non-numeric limit", { limit: "ten" }, "limit"],
      ["an unknown status", { status: "done" }, "status"],
      ["a tag with a space", { tag: "a b" }, "tag"],
      ["an empty cursor", { cursor: "" }, "cursor"],
      ["a numeric cursor", { cursor: 5 }, "cursor"],
      ["an unknown field", { sort: "asc" }, "sort"],
    ];
    it.each(badQueries)("rejects %s naming the field", async (_, query, field) => {
      const t = await tenant();
      await expectError(ctx.platform.episodes.list(t, query), "validation_failed", { field });
    });

    const cursor = (values: unknown) => Buffer.from(JSON.stringify(values)).toString("base64url");
    const badCursors: [string, string][] = [
      ["not base64 JSON", "definitely-not-a-cursor"],
      ["an object", cursor({ createdAt: "2024-01-01T00:00:00Z" })],
      ["one element", cursor(["2024-01-01T00:00:00.000000Z"])],
      ["a bad timestamp", cursor(["yesterday", randomUUID()])],
      ["a timestamp PostgreSQL would not accept", cursor(["1", randomUUID()])],
      ["a bad id", cursor(["2024-01-01T00:00:00.000000Z", "not-a-uuid"])],
      ["a numeric id", cursor(["2024-01-01T00:00:00.000000Z", 7])],
      ["a policies cursor", cursor([100, "2024-01-01T00:00:00.000000Z", randomUUID()])],
    ];
    it.each(badCursors)("a cursor that is %s is invalid_cursor", async (_, bad) => {
      const t = await tenant();
      await ctx.platform.episodes.create(t, episodeInput());
      await expectError(ctx.platform.episodes.list(t, { cursor: bad }), "invalid_cursor", { path: "cursor" });
    });

    it("a cursor made by hand from an episode's fields still works (it is just the keyset)", async () => {
      const t = await tenant();
      const ids: string[] = [];
      for (let i = 0; i < 3; i++)
        ids.push((await ctx.platform.episodes.create(t, episodeInput())).episode.id);
      const first = await ctx.platform.episodes.list(t, { limit: 1 });
      expect(first.nextCursor).toBeDefined();
      const rest = await ctx.platform.episodes.list(t, { cursor: first.nextCursor });
      expect([...first.items, ...rest.items].map((e) => e.id)).toEqual([...ids].reverse());
      expect(rest.nextCursor).toBeUndefined();
    });
  });

  describe("status transitions", () => {
    const analysis = {
      summary: "line stopped twice",
      risk: { level: "high", reasons: ["stoppage"] },
      systems: [1, 3],
      sentiment: { label: "negative", score: -0.4, confidence: 0.7 },
    };

    it("pending → analyzing → complete stores the analysis and writes episode.analyzed", async () => {
      const t = await tenant();
      const { episode } = await ctx.platform.episodes.create(t, episodeInput());
      const done = await withTenant(ctx.db, t, async (trx) => {
        const started = await ctx.platform.episodes.startAnalysis(trx, episode.id);
        expect(started?.status).toBe("analyzing");
        return ctx.platform.episodes.completeAnalysis(trx, t, episode.id, analysis);
      });
      expect(done).toMatchObject({ status: "complete", analysis, error: null });
      expect(done.analyzedAt).not.toBeNull();
      expect(await ctx.platform.episodes.get(t, episode.id)).toEqual(done);
      expect((await eventsOf(t, "episode.analyzed")).map((e) => e.data)).toEqual([
        {
          episodeId: episode.id,
          title: episode.title,
          risk: "high",
          systems: [1, 3],
          sentiment: "negative",
          unitId: episode.unitId,
        },
      ]);
    });

    it("a complete episode's startAnalysis returns null (a retried job must not redo it)", async () => {
      const t = await tenant();
      const { episode } = await ctx.platform.episodes.create(t, episodeInput());
      await withTenant(ctx.db, t, async (trx) => {
        await ctx.platform.episodes.startAnalysis(trx, episode.id);
        await ctx.platform.episodes.completeAnalysis(trx, t, episode.id, analysis);
      });
      const again = await withTenant(ctx.db, t, (trx) =>
        ctx.platform.episodes.startAnalysis(trx, episode.id),
      );
      expect(again).toBeNull();
      expect((await ctx.platform.episodes.get(t, episode.id)).status).toBe("complete");
    });

    it("startAnalysis is allowed again while analyzing (crashed worker) and after failure, clearing the error", async () => {
      const t = await tenant();
      const { episode } = await ctx.platform.episodes.create(t, episodeInput());
      await withTenant(ctx.db, t, async (trx) => {
        expect((await ctx.platform.episodes.startAnalysis(trx, episode.id))?.status).toBe("analyzing");
        expect((await ctx.platform.episodes.startAnalysis(trx, episode.id))?.status).toBe("analyzing");
      });
      const failed = await withTenant(ctx.db, t, (trx) =>
        ctx.platform.episodes.failAnalysis(trx, t, episode.id, "LLM timed out"),
      );
      expect(failed).toMatchObject({ status: "failed", error: "LLM timed out" });
      expect((await eventsOf(t, "episode.failed")).map((e) => e.data)).toEqual([
        { episodeId: episode.id, error: "LLM timed out", unitId: episode.unitId },
      ]);
      const restarted = await withTenant(ctx.db, t, (trx) =>
        ctx.platform.episodes.startAnalysis(trx, episode.id),
      );
      expect(restarted).toMatchObject({ status: "analyzing", error: null });
    });

    it("failAnalysis from pending is allowed and truncates a long error", async () => {
      const t = await tenant();
      const { episode } = await ctx.platform.episodes.create(t, episodeInput());
      const failed = await withTenant(ctx.db, t, (trx) =>
        ctx.platform.episodes.failAnalysis(trx, t, episode.id, "e".repeat(5000)),
      );
      expect(failed.status).toBe("failed");
      expect(failed.error?.length).toBeLessThan(5000);
      expect("e".repeat(5000).startsWith(failed.error ?? "x")).toBe(true);
    });

    it("illegal transitions are conflicts naming the current status, and change nothing", async () => {
      const t = await tenant();
      const { episode } = await ctx.platform.episodes.create(t, episodeInput());
      // pending: cannot complete, cannot be re-requested.
      const e1 = await expectError(
        withTenant(ctx.db, t, (trx) => ctx.platform.episodes.completeAnalysis(trx, t, episode.id, analysis)),
        "conflict",
        { field: "pending" },
      );
      expect(e1.details).toEqual({ status: "pending", to: "complete" });
      await expectError(ctx.platform.episodes.requestAnalysis(t, episode.id), "conflict", {
        field: "pending",
      });

      // analyzing: cannot be re-requested.
      await withTenant(ctx.db, t, (trx) => ctx.platform.episodes.startAnalysis(trx, episode.id));
      await expectError(ctx.platform.episodes.requestAnalysis(t, episode.id), "conflict", {
        field: "analyzing",
      });

      // complete: cannot fail, cannot complete again.
      await withTenant(ctx.db, t, (trx) =>
        ctx.platform.episodes.completeAnalysis(trx, t, episode.id, analysis),
      );
      await expectError(
        withTenant(ctx.db, t, (trx) => ctx.platform.episodes.failAnalysis(trx, t, episode.id, "late")),
        "conflict",
        { field: "complete" },
      );
      await expectError(
        withTenant(ctx.db, t, (trx) => ctx.platform.episodes.completeAnalysis(trx, t, episode.id, analysis)),
        "conflict",
      );
      const after = await ctx.platform.episodes.get(t, episode.id);
      expect(after).toMatchObject({ status: "complete", analysis, error: null });
      expect(await eventsOf(t, "episode.failed")).toEqual([]);
      expect(await eventsOf(t, "episode.analyzed")).toHaveLength(1);

      // failed: cannot fail again.
      const { episode: other } = await ctx.platform.episodes.create(t, episodeInput());
      await withTenant(ctx.db, t, (trx) => ctx.platform.episodes.failAnalysis(trx, t, other.id, "x"));
      await expectError(
        withTenant(ctx.db, t, (trx) => ctx.platform.episodes.failAnalysis(trx, t, other.id, "y")),
        "conflict",
        { field: "failed" },
      );
    });

    it("requestAnalysis moves complete or failed back to pending and enqueues a new job", async () => {
      const t = await tenant();
      const { episode } = await ctx.platform.episodes.create(t, episodeInput());
      await withTenant(ctx.db, t, async (trx) => {
        await ctx.platform.episodes.startAnalysis(trx, episode.id);
        await ctx.platform.episodes.completeAnalysis(trx, t, episode.id, analysis);
      });
      const jobs = queue.calls.length;
      const requested = await ctx.platform.episodes.requestAnalysis(t, episode.id);
      expect(queue.calls).toHaveLength(jobs + 1);
      expect(requested).toMatchObject({ created: false, jobId: queue.calls.at(-1)?.jobId });
      expect(requested.jobId).toEqual(expect.any(String));
      expect(requested.episode.status).toBe("pending");
      expect(queue.calls.at(-1)).toMatchObject({
        name: "episode.analyze",
        payload: { tenantId: t, episodeId: episode.id },
        seenStatus: "pending",
      });

      await withTenant(ctx.db, t, (trx) => ctx.platform.episodes.failAnalysis(trx, t, episode.id, "nope"));
      const retried = await ctx.platform.episodes.requestAnalysis(t, episode.id);
      expect(retried.episode).toMatchObject({ status: "pending", error: null });
    });

    it("a failing enqueue rolls back requestAnalysis", async () => {
      const t = await tenant();
      const { episode } = await ctx.platform.episodes.create(t, episodeInput());
      await withTenant(ctx.db, t, (trx) => ctx.platform.episodes.failAnalysis(trx, t, episode.id, "x"));
      queue.failWith = new Error("queue is down");
      await expect(ctx.platform.episodes.requestAnalysis(t, episode.id)).rejects.toThrow("queue is down");
      expect((await ctx.platform.episodes.get(t, episode.id)).status).toBe("failed");
    });

    it("another tenant's episode is not_found for every transition; malformed ids are validation_failed", async () => {
      const a = await tenant();
      const b = await tenant();
      const { episode } = await ctx.platform.episodes.create(b, episodeInput());
      await expectError(
        withTenant(ctx.db, a, (trx) => ctx.platform.episodes.startAnalysis(trx, episode.id)),
        "not_found",
      );
      await expectError(
        withTenant(ctx.db, a, (trx) => ctx.platform.episodes.completeAnalysis(trx, a, episode.id, analysis)),
        "not_found",
      );
      await expectError(
        withTenant(ctx.db, a, (trx) => ctx.platform.episodes.failAnalysis(trx, a, episode.id, "x")),
        "not_found",
      );
      await expectError(ctx.platform.episodes.requestAnalysis(a, episode.id), "not_found");
      expect((await ctx.platform.episodes.get(b, episode.id)).status).toBe("pending");
      await expectError(
        withTenant(ctx.db, a, (trx) => ctx.platform.episodes.startAnalysis(trx, "e-1")),
        "validation_failed",
        { path: "id" },
      );
      await expectError(ctx.platform.episodes.requestAnalysis(a, "e-1"), "validation_failed", { path: "id" });
    });
  });
});
