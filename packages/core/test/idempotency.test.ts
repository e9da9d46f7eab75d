/**
 * The idempotency service on real PostgreSQL: the key's "took effect" mark commits with the request's own
 * writes and only with them, so a retry after a lost response never doubles the effect, and a retry
 * after an attempt that died before its effect runs again once the lease is over.
 */
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { episodeInput, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { CyberneticError, idempotencyFingerprint, withTenant } from "../src/index.ts";

describe("idempotency service", () => {
  const ctx = useTestPlatform();
  let tenantId: string;
  let otherTenant: string;
  const fp = (body: string) => idempotencyFingerprint("POST", "/v1/episodes", Buffer.from(body));
  const row = (key: string, tenant = tenantId) =>
    withTenant(ctx.db, tenant, (trx) =>
      trx.selectFrom("idempotency_keys").selectAll().where("key", "=", key).executeTakeFirst(),
    );

  beforeAll(async () => {
    tenantId = (await seedTenant(ctx.platform)).tenant.id;
    otherTenant = (await seedTenant(ctx.platform)).tenant.id;
  });

  it("marks the key committed in the same transaction as the effect", async () => {
    const { idempotency, episodes } = ctx.platform;
    expect(await idempotency.begin(tenantId, "effect", fp("a"))).toEqual({ state: "run" });
    await idempotency.run(tenantId, "effect", () => episodes.create(tenantId, episodeInput()));
    expect((await row("effect"))?.committed_at).toBeInstanceOf(Date);
    // Its effect committed but its answer is not stored yet: while it holds its lease it is still
    // running, and a parallel retry is told to wait (not that its answer was lost).
    const early = await idempotency.begin(tenantId, "effect", fp("a")).catch((e: unknown) => e);
    expect((early as CyberneticError).details).toEqual({ reason: "idempotency_in_progress" });
    // It failed after its effect (the answer is lost): abandoning does not release the key, the effect is
    // there, but it gives the lease up, so a retry is told at once that the request took effect.
    await idempotency.abandon(tenantId, "effect");
    expect(await row("effect")).toBeDefined();
    const retry = await idempotency.begin(tenantId, "effect", fp("a")).catch((e: unknown) => e);
    expect(CyberneticError.isInstance(retry) && retry.code).toBe("conflict");
    expect((retry as CyberneticError).details).toEqual({ reason: "idempotency_outcome_unrecorded" });
  });

  it("a write that rolls back leaves no mark, and abandon releases the key", async () => {
    const { idempotency } = ctx.platform;
    await idempotency.begin(tenantId, "rolled-back", fp("b"));
    const failed = await idempotency
      .run(tenantId, "rolled-back", () =>
        withTenant(ctx.db, tenantId, async (trx) => {
          await trx
            .insertInto("episodes")
            .values({ tenant_id: tenantId, title: "x", content: "y" })
            .execute();
          throw new Error("the handler failed after writing");
        }),
      )
      .catch((e: unknown) => e);
    expect((failed as Error).message).toBe("the handler failed after writing");
    expect((await row("rolled-back"))?.committed_at).toBeNull();
    await idempotency.abandon(tenantId, "rolled-back");
    expect(await row("rolled-back")).toBeUndefined();
    expect(await idempotency.begin(tenantId, "rolled-back", fp("b"))).toEqual({ state: "run" });
  });

  it("a first attempt that died before its effect is taken over once its lease is over", async () => {
    const { idempotency } = ctx.platform;
    await idempotency.begin(tenantId, "died", fp("c"));
    const inProgress = await idempotency.begin(tenantId, "died", fp("c")).catch((e: unknown) => e);
    expect((inProgress as CyberneticError).details).toEqual({ reason: "idempotency_in_progress" });
    expect((inProgress as CyberneticError).headers?.["retry-after"]).toMatch(/^\d+$/);
    await withTenant(ctx.db, tenantId, (trx) =>
      trx
        .updateTable("idempotency_keys")
        .set({ locked_until: sql<Date>`now() - interval '1 second'` })
        .where("key", "=", "died")
        .execute(),
    );
    expect(await idempotency.begin(tenantId, "died", fp("c"))).toEqual({ state: "run" });
  });

  it("a completed key replays its stored response; a different request with it is refused", async () => {
    const { idempotency } = ctx.platform;
    await idempotency.begin(tenantId, "done", fp("d"));
    await idempotency.complete(tenantId, "done", { status: 201, body: { id: "e1", nested: [1, "two"] } });
    expect(await idempotency.begin(tenantId, "done", fp("d"))).toEqual({
      state: "replay",
      response: { status: 201, body: { id: "e1", nested: [1, "two"] } },
    });
    const reused = await idempotency.begin(tenantId, "done", fp("other")).catch((e: unknown) => e);
    expect(CyberneticError.isInstance(reused) && reused.code).toBe("idempotency_key_reused");
    expect((reused as CyberneticError).status).toBe(422);
  });

  it("a mark is made only for the scope's own tenant, and keys are invisible across tenants", async () => {
    const { idempotency, episodes } = ctx.platform;
    await idempotency.begin(tenantId, "scoped", fp("e"));
    // Work for another tenant under this tenant's scope marks nothing.
    await idempotency.run(tenantId, "scoped", () => episodes.create(otherTenant, episodeInput()));
    expect((await row("scoped"))?.committed_at).toBeNull();
    expect(await row("scoped", otherTenant)).toBeUndefined();
    expect(await idempotency.begin(otherTenant, "scoped", fp("e"))).toEqual({ state: "run" });
  });
});
