/**
 * S3* audits on real PostgreSQL and a real local disk: each planted fault is found (an episode stuck
 * analysing, a state older than its unit expects, a policy whose evaluations error, an artifact
 * corrupted on disk behind the platform's back, one whose bytes are gone, a notification stuck in
 * delivery); findings are stored and published, severe ones raise alerts; an audit of a subtree looks
 * only there; a clean tenant has no findings.
 */
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { createLocalStorage } from "../../storage/src/index.ts";
import { type ArtifactService, withTenant } from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

describe("S3* audits", () => {
  let root = "";
  const ctx = useTestPlatform({
    storage: async () => {
      root = await mkdtemp(join(tmpdir(), "cybernetic-audits-"));
      return createLocalStorage({ root });
    },
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });
  const artifacts = () => ctx.platform.artifacts as ArtifactService;
  /** The file the local adapter keeps a key's bytes in (see storage's local-paths.ts). */
  const fileOf = async (tenantId: string, path: string) => {
    const row = await withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("artifacts").select("storage_key").where("path", "=", path).executeTakeFirstOrThrow(),
    );
    const segments = row.storage_key.split("/");
    return join(root, "objects", ...segments.slice(0, -1), `${segments.at(-1)}%`);
  };
  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

  it("finds every planted fault; stores, publishes and alerts on them", async () => {
    const tenantId = (await seedTenant(ctx.platform)).tenant.id;
    const rootUnit = await ctx.platform.units.root(tenantId);
    const line = await ctx.platform.units.create(tenantId, {
      name: "Line",
      slug: "line",
      stateIntervalSeconds: 3600,
      alerts: [{ channel: "event", to: "line-alerts" }],
    });
    // An episode stuck analysing for two hours.
    const { episode } = await ctx.platform.episodes.create(tenantId, {
      title: "jam report",
      unitId: line.id,
    });
    await withTenant(ctx.db, tenantId, async (trx) => {
      await ctx.platform.episodes.startAnalysis(trx, episode.id);
      await trx
        .updateTable("episodes")
        .set({ updated_at: minutesAgo(120) })
        .where("id", "=", episode.id)
        .execute();
      // The line's S3 state, untouched for two hours though it expects an update every hour.
      await trx
        .updateTable("system_states")
        .set({ updated_at: minutesAgo(120) })
        .where("unit_id", "=", line.id)
        .where("system", "=", 3)
        .execute();
      // A notification stuck sending for half an hour.
      await trx
        .insertInto("notifications")
        .values({
          tenant_id: tenantId,
          channel: "webhook",
          target: "https://example.com/hook",
          payload: "{}",
          status: "sending",
          idempotency_key: "stuck-1",
          updated_at: minutesAgo(30),
        })
        .execute();
    });
    // A policy whose evaluations error.
    const policy = await ctx.platform.policies.create(tenantId, {
      name: "broken",
      unitId: line.id,
      rules: { on: ["*"], then: [{ type: "publish", event: "custom.x" }] },
    });
    await withTenant(ctx.db, tenantId, (trx) =>
      trx
        .insertInto("policy_evaluations")
        .values(
          [1, 2, 3].map((n) => ({
            tenant_id: tenantId,
            event_id: 900_000 + n,
            policy_id: policy.id,
            matched: false,
            outcome: JSON.stringify({ status: "error", errors: ["condition failed: boom"] }),
          })),
        )
        .execute(),
    );
    // Four artifacts on the line, changed on disk behind the platform's back: one with its content bytes
    // flipped (same size), one with its file mangled, one whose file is gone; and one left intact.
    const put = (path: string, text: string) =>
      artifacts().put(tenantId, path, Readable.from([Buffer.from(text)]), { unitId: line.id });
    await put("reports/corrupt.txt", "quarterly numbers");
    await put("reports/gone.txt", "shift log");
    await put("reports/mangled.txt", "minutes");
    await put("reports/fine.txt", "all good");
    // The content is the file's last bytes (after the adapter's header): overwrite them in place.
    const corrupt = await open(await fileOf(tenantId, "reports/corrupt.txt"), "r+");
    const { size } = await corrupt.stat();
    await corrupt.write(Buffer.from("QUARTERLY NUMBERS"), 0, 17, size - 17);
    await corrupt.close();
    await writeFile(await fileOf(tenantId, "reports/mangled.txt"), "not an object file any more");
    await rm(await fileOf(tenantId, "reports/gone.txt"));

    const audit = await ctx.platform.audits.run(tenantId);
    expect(audit).toMatchObject({ unitId: rootUnit.id, trigger: "manual" });
    const found = audit.findings.map((f) => [f.check, f.severity, f.unitId]).sort();
    expect(found).toEqual(
      [
        ["artifact_mismatch", "severe", line.id],
        ["artifact_mismatch", "severe", line.id],
        ["artifact_mismatch", "severe", line.id],
        ["policy_errors", "warning", line.id],
        ["stale_state", "warning", line.id],
        ["stuck_episode", "severe", line.id],
        ["stuck_notification", "warning", rootUnit.id],
      ].sort(),
    );
    const byPath = (path: string) => audit.findings.find((f) => f.subject.path === path);
    expect(byPath("reports/corrupt.txt")?.message).toMatch(/same size, different SHA-256/);
    expect(byPath("reports/gone.txt")?.message).toMatch(/bytes are gone from storage/);
    expect(byPath("reports/mangled.txt")?.message).toMatch(/can no longer read \(corrupt\)/);
    expect(byPath("reports/fine.txt")).toBeUndefined();
    expect(audit.findings.find((f) => f.check === "stale_state")).toMatchObject({
      subject: { kind: "system_state", system: 3 },
      message: expect.stringMatching(
        /S3's state was last updated 2 hours ago; the unit expects an update every 3600 s/,
      ),
    });
    expect(audit.findings.find((f) => f.check === "policy_errors")?.details).toMatchObject({ errors: 3 });
    expect(audit.summary).toMatchObject({
      units: 2,
      sampled: { artifacts: 4 },
      findings: { severe: 4, warning: 3, total: 7 },
    });

    // Stored, and published finding by finding.
    expect(await ctx.platform.audits.get(tenantId, audit.id)).toEqual(audit);
    const events = await withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("events")
        .select(["type", "data"])
        .where("type", "like", "audit.%")
        .orderBy("seq")
        .execute(),
    );
    expect(
      events
        .filter((e) => e.type === "audit.finding")
        .map((e) => e.data.findingId)
        .sort(),
    ).toEqual(audit.findings.map((f) => f.id).sort());
    expect(events.at(-1)).toEqual({
      type: "audit.completed",
      data: { auditId: audit.id, unitId: rootUnit.id, trigger: "manual", findings: 7, severe: 4 },
    });
    // Each severe finding raised a pain alert at its unit, notified on the unit's channel.
    const alerts = await ctx.platform.alerts.list(tenantId);
    expect(alerts.items).toHaveLength(4);
    expect(alerts.items.every((a) => a.unitId === line.id && a.severity === "pain")).toBe(true);
    expect(alerts.items.map((a) => a.source.findingId).sort()).toEqual(
      audit.findings
        .filter((f) => f.severity === "severe")
        .map((f) => f.id)
        .sort(),
    );
    expect((await ctx.platform.audits.list(tenantId)).items.map((a) => a.id)).toEqual([audit.id]);
  });

  it("an audit of a subtree looks only there; a clean tenant has no findings", async () => {
    const tenantId = (await seedTenant(ctx.platform)).tenant.id;
    const a = await ctx.platform.units.create(tenantId, { name: "A", slug: "a", stateIntervalSeconds: 60 });
    const b = await ctx.platform.units.create(tenantId, { name: "B", slug: "b" });
    const clean = await ctx.platform.audits.run(tenantId, { unitId: b.id });
    expect(clean).toMatchObject({ unitId: b.id, findings: [], summary: { units: 1 } });
    await withTenant(ctx.db, tenantId, (trx) =>
      sql`update system_states set updated_at = now() - interval '1 hour' where unit_id = ${a.id}`.execute(
        trx,
      ),
    );
    expect((await ctx.platform.audits.run(tenantId, { unitId: b.id })).findings).toEqual([]);
    const all = await ctx.platform.audits.run(tenantId);
    expect(all.findings.map((f) => [f.check, f.unitId, f.subject.system]).sort()).toEqual(
      [1, 2, 3, 4, 5].map((system) => ["stale_state", a.id, system]),
    );
    // Newest first, page by page.
    const first = await ctx.platform.audits.list(tenantId, { limit: 2 });
    const rest = await ctx.platform.audits.list(tenantId, { limit: 2, cursor: first.nextCursor });
    expect([...first.items, ...rest.items].map((x) => x.id)).toEqual([all.id, expect.any(String), clean.id]);
  });

  it("another tenant's audits and units are not found; bad input is validation_failed", async () => {
    const tenantId = (await seedTenant(ctx.platform)).tenant.id;
    const other = (await seedTenant(ctx.platform)).tenant.id;
    const audit = await ctx.platform.audits.run(tenantId);
    const unit = await ctx.platform.units.create(tenantId, { name: "U", slug: "u" });
    await expectError(ctx.platform.audits.get(other, audit.id), "not_found");
    await expectError(ctx.platform.audits.run(other, { unitId: unit.id }), "not_found");
    expect((await ctx.platform.audits.list(other)).items).toEqual([]);
    await expectError(ctx.platform.audits.run(tenantId, { sample: 0 }), "validation_failed", {
      field: "sample",
    });
    await expectError(ctx.platform.audits.run(tenantId, { unitId: "x" }), "validation_failed", {
      field: "unitId",
    });
    await expectError(ctx.platform.audits.run(tenantId, { everything: true }), "validation_failed");
  });
});
