/**
 * S5 policies: rules validated on write (pointing at the offending part), optimistic updates, activation,
 * deletion with its event, the priority-ordered list, and which policies are in effect.
 */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { policyInput, policyRules, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { type Policy, type PolicyRules, withTenant } from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

describe("policies", () => {
  const ctx = useTestPlatform();
  const tenant = async () => (await seedTenant(ctx.platform)).tenant.id;

  const eventsOf = (tenantId: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("events").select(["type", "data", "tenant_id"]).orderBy("seq").execute(),
    );

  const pageAll = async (tenantId: string, query: Record<string, unknown>) => {
    const seen: Policy[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await ctx.platform.policies.list(tenantId, { ...query, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items);
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    return { seen, pages };
  };

  describe("create", () => {
    it("stores valid rules of every action type, with defaults, and writes policy.created", async () => {
      const t = await tenant();
      const rules: PolicyRules = {
        on: ["episode.analyzed", "system.*", "custom.audit", "*"],
        if: {
          and: [
            { in: [{ var: "event.data.risk" }, ["high", "critical"]] },
            { some: [{ var: ["event.data.systems", []] }, { "==": [{ var: "" }, 3] }] },
          ],
        },
        then: [
          { type: "notify", channel: "telegram", to: "-100123", template: "High risk: {{event.data.title}}" },
          { type: "publish", event: "custom.escalated", data: { level: 2 } },
          { type: "set_state", system: 3, patch: { alert: true, note: null } },
          { type: "algedonic", severity: "pain", message: "S3 is overloaded" },
        ],
      };
      const policy = await ctx.platform.policies.create(t, { name: "  escalate  ", rules });
      expect(policy).toMatchObject({
        name: "escalate",
        description: "",
        rules,
        priority: 100,
        active: true,
        effectiveFrom: null,
        effectiveUntil: null,
        version: 1,
      });
      expect(await ctx.platform.policies.get(t, policy.id)).toEqual(policy);
      expect(await eventsOf(t)).toEqual([
        { type: "policy.created", tenant_id: t, data: { policyId: policy.id, name: "escalate" } },
      ]);
    });

    it("fills a publish action's data and coerces a set_state system given as a string", async () => {
      const t = await tenant();
      const policy = await ctx.platform.policies.create(t, {
        name: "coerce",
        rules: {
          on: ["episode.created"],
          then: [
            { type: "publish", event: "custom.seen" },
            { type: "set_state", system: "2", patch: {} },
          ],
        },
      });
      expect(policy.rules.then).toEqual([
        { type: "publish", event: "custom.seen", data: {} },
        { type: "set_state", system: 2, patch: {} },
      ]);
      expect(policy.rules.if).toBeUndefined();
    });

    const notify = { type: "notify", channel: "event", to: "ops", template: "x" };
    const badRules: [string, Record<string, unknown>, string, string][] = [
      ["the eval operator", { if: { eval: ["process.exit()"] } }, "rules.if.eval", "eval"],
      ["the method operator", { if: { method: [{ var: "a" }, "toString"] } }, "rules.if.method", "method"],
      ["the log operator", { if: { log: "x" } }, "rules.if.log", "log"],
      [
        "an unknown operator deep inside",
        { if: { and: [true, { or: [false, { regex: ["a", "b"] }] }] } },
        "rules.if.and.1.or.1.regex",
        "regex",
      ],
      ["an operation with two keys", { if: { "==": [1, 1], "!=": [1, 2] } }, "rules.if", "exactly one key"],
      ["an operation with no key", { if: { and: [{}] } }, "rules.if.and.0", "exactly one key"],
      ["a malformed var", { if: { var: { path: "a" } } }, "rules.if.var", "var"],
      [
        "an unknown action type",
        { then: [notify, { type: "shell", command: "rm -rf /" }] },
        "rules.then.1.type",
        "type",
      ],
      [
        "notify with an unknown channel",
        { then: [{ ...notify, channel: "sms" }] },
        "rules.then.0.channel",
        "channel",
      ],
      [
        "notify without a template",
        { then: [{ type: "notify", channel: "event", to: "x" }] },
        "rules.then.0.template",
        "template",
      ],
      ["notify with an extra field", { then: [{ ...notify, cc: "boss" }] }, "rules.then.0", "cc"],
      ["an unknown event type", { on: ["episode.unknown"] }, "rules.on.0", "episode.unknown"],
      ["an unknown event category", { on: ["episode.created", "nosuch.*"] }, "rules.on.1", "nosuch"],
      ["an empty event list", { on: [] }, "rules.on", "on"],
      ["an empty action list", { then: [] }, "rules.then", "then"],
      [
        "set_state of system 6",
        { then: [{ type: "set_state", system: 6, patch: {} }] },
        "rules.then.0.system",
        "system",
      ],
      [
        "set_state of system 0",
        { then: [{ type: "set_state", system: 0, patch: {} }] },
        "rules.then.0.system",
        "system",
      ],
      [
        "set_state with an array patch",
        { then: [{ type: "set_state", system: 1, patch: [] }] },
        "rules.then.0.patch",
        "patch",
      ],
      [
        "publish of a built-in type",
        { then: [{ type: "publish", event: "episode.created" }] },
        "rules.then.0.event",
        "event",
      ],
      [
        "publish of a malformed type",
        { then: [{ type: "publish", event: "custom" }] },
        "rules.then.0.event",
        "event",
      ],
      [
        "algedonic of unknown severity",
        { then: [{ type: "algedonic", severity: "meh", message: "x" }] },
        "rules.then.0.severity",
        "severity",
      ],
      ["an unknown top-level key", { unless: true }, "rules", "unless"],
      ["a for without a unit", { for: "5" }, "rules.for", "duration"],
      ["a for in weeks", { for: "2w" }, "rules.for", "duration"],
      ["a negative cooldown", { cooldown: -1 }, "rules.cooldown", "cooldown"],
      ["a cooldown over seven days", { cooldown: "8d" }, "rules.cooldown", "at most 7 days"],
    ];
    it.each(badRules)(
      "rejects rules with %s, pointing at the offending part",
      async (_, override, path, text) => {
        const t = await tenant();
        const rules = { ...policyRules(), ...override };
        const error = await expectError(
          ctx.platform.policies.create(t, policyInput({ rules: rules as PolicyRules })),
          "validation_failed",
          { path, field: path },
        );
        expect(error.message).toContain(text);
        expect((await ctx.platform.policies.list(t)).items).toEqual([]);
        expect(await eventsOf(t)).toEqual([]);
      },
    );

    const badFields: [string, Record<string, unknown>, string][] = [
      ["an empty name", { name: "" }, "name"],
      ["a 201-character name", { name: "n".repeat(201) }, "name"],
      ["a numeric name", { name: 9 }, "name"],
      ["a 2001-character description", { description: "d".repeat(2001) }, "description"],
      ["a negative priority", { priority: -1 }, "priority"],
      ["priority 1001", { priority: 1001 }, "priority"],
      ["a string priority", { priority: "high" }, "priority"],
      ["a string active", { active: "yes" }, "active"],
      ["an effectiveFrom that is not a timestamp", { effectiveFrom: "soon" }, "effectiveFrom"],
      ["an effectiveUntil without offset", { effectiveUntil: "2030-01-01T00:00:00" }, "effectiveUntil"],
      [
        "an effective window with from after until",
        { effectiveFrom: "2030-01-02T00:00:00Z", effectiveUntil: "2030-01-01T00:00:00Z" },
        "effectiveUntil",
      ],
      ["missing rules", { rules: undefined }, "rules"],
    ];
    it.each(badFields)("rejects %s naming the field", async (_, override, path) => {
      const t = await tenant();
      await expectError(
        ctx.platform.policies.create(t, { ...policyInput(), ...override }),
        "validation_failed",
        {
          field: path,
          path,
        },
      );
    });

    it("rejects unknown fields (strict), naming them", async () => {
      const t = await tenant();
      await expectError(
        ctx.platform.policies.create(t, { ...policyInput(), owner: "me" }),
        "validation_failed",
        {
          field: "owner",
        },
      );
    });

    it("accepts a window with from equal to until", async () => {
      const t = await tenant();
      const at = "2030-01-01T00:00:00.000Z";
      const policy = await ctx.platform.policies.create(
        t,
        policyInput({ effectiveFrom: at, effectiveUntil: at }),
      );
      expect(policy).toMatchObject({ effectiveFrom: at, effectiveUntil: at });
    });

    it("a name taken in the tenant is a duplicate; another tenant may use it", async () => {
      const t = await tenant();
      const input = policyInput();
      await ctx.platform.policies.create(t, input);
      await expectError(
        ctx.platform.policies.create(t, { ...policyInput(), name: input.name }),
        "duplicate",
        {
          field: "name",
        },
      );
      expect(await eventsOf(t)).toHaveLength(1);
      const other = await tenant();
      expect((await ctx.platform.policies.create(other, { ...policyInput(), name: input.name })).name).toBe(
        input.name,
      );
    });

    it("a malformed tenant id is validation_failed", async () => {
      await expectError(ctx.platform.policies.create("t", policyInput()), "validation_failed", {
        path: "tenantId",
      });
    });
  });

  describe("get, update, setActive, delete", () => {
    it("get: another tenant's policy and unknown ids are not_found; malformed ids validation_failed", async () => {
      const a = await tenant();
      const b = await tenant();
      const policy = await ctx.platform.policies.create(b, policyInput());
      await expectError(ctx.platform.policies.get(a, policy.id), "not_found", { field: policy.id });
      await expectError(ctx.platform.policies.get(a, randomUUID()), "not_found");
      await expectError(ctx.platform.policies.get(a, "p1"), "validation_failed", { field: "id", path: "id" });
    });

    it("updates fields with the current version, bumping it and writing policy.updated", async () => {
      const t = await tenant();
      const policy = await ctx.platform.policies.create(t, policyInput({ priority: 10 }));
      const rules = policyRules({ on: ["episode.failed"] });
      const updated = await ctx.platform.policies.update(t, policy.id, {
        name: "renamed",
        description: "now on failures",
        rules,
        priority: 900,
        version: policy.version,
      });
      expect(updated).toMatchObject({
        id: policy.id,
        name: "renamed",
        description: "now on failures",
        rules,
        priority: 900,
        active: true,
        version: policy.version + 1,
        createdAt: policy.createdAt,
      });
      expect(await ctx.platform.policies.get(t, policy.id)).toEqual(updated);
      const events = await eventsOf(t);
      expect(events.at(-1)).toEqual({
        type: "policy.updated",
        tenant_id: t,
        data: { policyId: policy.id, version: updated.version, active: true },
      });
    });

    it("without a version the update applies to the latest; with a stale one it is a version_conflict", async () => {
      const t = await tenant();
      const policy = await ctx.platform.policies.create(t, policyInput());
      const v2 = await ctx.platform.policies.update(t, policy.id, { priority: 5 });
      expect(v2.version).toBe(policy.version + 1);
      const error = await expectError(
        ctx.platform.policies.update(t, policy.id, { priority: 6, version: policy.version }),
        "version_conflict",
        { field: "policy" },
      );
      expect(error.details).toEqual({ expectedVersion: policy.version, currentVersion: v2.version });
      expect(await ctx.platform.policies.get(t, policy.id)).toEqual(v2);
      expect((await eventsOf(t)).filter((e) => e.type === "policy.updated")).toHaveLength(1);
    });

    it("concurrent updates with the same version: exactly one wins", async () => {
      const t = await tenant();
      const policy = await ctx.platform.policies.create(t, policyInput());
      const results = await Promise.allSettled(
        [1, 2, 3].map((p) =>
          ctx.platform.policies.update(t, policy.id, { priority: p, version: policy.version }),
        ),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect(
        results
          .filter((r): r is PromiseRejectedResult => r.status === "rejected")
          .map((r) => (r.reason as { code: string }).code),
      ).toEqual(["version_conflict", "version_conflict"]);
      expect((await ctx.platform.policies.get(t, policy.id)).version).toBe(policy.version + 1);
    });

    it("update validation: bad fields, rules, unknown fields, a window made invalid against the stored one", async () => {
      const t = await tenant();
      const policy = await ctx.platform.policies.create(
        t,
        policyInput({ effectiveFrom: "2030-01-01T00:00:00Z", effectiveUntil: "2030-06-01T00:00:00Z" }),
      );
      await expectError(ctx.platform.policies.update(t, policy.id, { name: "" }), "validation_failed", {
        path: "name",
      });
      await expectError(ctx.platform.policies.update(t, policy.id, { version: 0 }), "validation_failed", {
        path: "version",
      });
      await expectError(ctx.platform.policies.update(t, policy.id, { version: "1" }), "validation_failed", {
        path: "version",
      });
      await expectError(
        ctx.platform.policies.update(t, policy.id, { rules: policyRules({ on: ["nosuch.*"] }) }),
        "validation_failed",
        { path: "rules.on.0" },
      );
      await expectError(
        ctx.platform.policies.update(t, policy.id, { id: randomUUID() }),
        "validation_failed",
        {
          field: "id",
        },
      );
      // Only effectiveFrom is sent, but it is after the stored effectiveUntil.
      await expectError(
        ctx.platform.policies.update(t, policy.id, { effectiveFrom: "2031-01-01T00:00:00Z" }),
        "validation_failed",
        { field: "effectiveFrom" },
      );
      expect(await ctx.platform.policies.get(t, policy.id)).toEqual(policy);
      // Clearing the window works.
      const cleared = await ctx.platform.policies.update(t, policy.id, {
        effectiveFrom: null,
        effectiveUntil: null,
      });
      expect(cleared).toMatchObject({ effectiveFrom: null, effectiveUntil: null });
    });

    it("update: a name taken by another policy is a duplicate; unknown and foreign ids are not_found", async () => {
      const t = await tenant();
      const a = await ctx.platform.policies.create(t, policyInput());
      const b = await ctx.platform.policies.create(t, policyInput());
      await expectError(ctx.platform.policies.update(t, b.id, { name: a.name }), "duplicate", {
        field: "name",
      });
      await expectError(ctx.platform.policies.update(t, randomUUID(), { priority: 1 }), "not_found");
      const other = await tenant();
      await expectError(ctx.platform.policies.update(other, a.id, { priority: 1 }), "not_found");
      await expectError(ctx.platform.policies.update(t, "x", { priority: 1 }), "validation_failed", {
        path: "id",
      });
      expect(await ctx.platform.policies.get(t, b.id)).toEqual(b);
    });

    it("setActive deactivates and re-activates, bumping the version each time", async () => {
      const t = await tenant();
      const policy = await ctx.platform.policies.create(t, policyInput());
      const off = await ctx.platform.policies.setActive(t, policy.id, false);
      expect(off).toMatchObject({ active: false, version: policy.version + 1 });
      const on = await ctx.platform.policies.setActive(t, policy.id, true);
      expect(on).toMatchObject({ active: true, version: policy.version + 2 });
      const updates = (await eventsOf(t)).filter((e) => e.type === "policy.updated").map((e) => e.data);
      expect(updates).toEqual([
        { policyId: policy.id, version: off.version, active: false },
        { policyId: policy.id, version: on.version, active: true },
      ]);
      await expectError(ctx.platform.policies.setActive(t, randomUUID(), true), "not_found");
      await expectError(ctx.platform.policies.setActive(t, "nope", true), "validation_failed", {
        path: "id",
      });
    });

    it("delete removes the policy and writes policy.deleted; deleting twice is not_found", async () => {
      const t = await tenant();
      const policy = await ctx.platform.policies.create(t, policyInput());
      await ctx.platform.policies.delete(t, policy.id);
      await expectError(ctx.platform.policies.get(t, policy.id), "not_found");
      expect((await eventsOf(t)).at(-1)).toEqual({
        type: "policy.deleted",
        tenant_id: t,
        data: { policyId: policy.id, name: policy.name },
      });
      await expectError(ctx.platform.policies.delete(t, policy.id), "not_found", { field: policy.id });
      expect((await eventsOf(t)).filter((e) => e.type === "policy.deleted")).toHaveLength(1);
      // The name is free again.
      expect((await ctx.platform.policies.create(t, { ...policyInput(), name: policy.name })).name).toBe(
        policy.name,
      );
    });

    it("another tenant cannot delete a policy", async () => {
      const a = await tenant();
      const b = await tenant();
      const policy = await ctx.platform.policies.create(b, policyInput());
      await expectError(ctx.platform.policies.delete(a, policy.id), "not_found");
      await expectError(ctx.platform.policies.delete(a, "p"), "validation_failed", { path: "id" });
      expect(await ctx.platform.policies.get(b, policy.id)).toEqual(policy);
      expect(await eventsOf(a)).toEqual([]);
    });
  });

  describe("list", () => {
    it("orders by priority (highest first), then oldest first, paging without skips or repeats", async () => {
      const t = await tenant();
      const priorities = [5, 500, 5, 100, 1000, 5, 0, 100, 500, 5, 42, 5];
      const created: Policy[] = [];
      for (const priority of priorities)
        created.push(await ctx.platform.policies.create(t, policyInput({ priority })));
      const expected = created
        .map((p, i) => ({ p, i }))
        .sort((x, y) => y.p.priority - x.p.priority || x.i - y.i)
        .map(({ p }) => p.id);

      const { seen, pages } = await pageAll(t, { limit: 5 });
      expect(pages).toBe(3);
      expect(seen.map((p) => p.id)).toEqual(expected);
      expect(seen.map((p) => p.priority)).toEqual([...priorities].sort((a, b) => b - a));
    });

    it("pages through ties created in the same instant", async () => {
      const t = await tenant();
      for (let i = 0; i < 9; i++) await ctx.platform.policies.create(t, policyInput({ priority: 7 }));
      // Give them all one created_at (the runtime role may update its tenant's policies).
      await withTenant(ctx.db, t, (trx) =>
        trx
          .updateTable("policies")
          .set({ created_at: new Date("2030-01-01T00:00:00.123456Z") } as never)
          .execute(),
      );
      const all = (await ctx.platform.policies.list(t, { limit: 100 })).items;
      expect(new Set(all.map((p) => p.createdAt)).size).toBe(1);
      const { seen, pages } = await pageAll(t, { limit: 2 });
      expect(pages).toBe(5);
      expect(seen.map((p) => p.id)).toEqual([...all.map((p) => p.id)].sort());
    });

    it("filters by active, and pages within the filter", async () => {
      const t = await tenant();
      const a = await ctx.platform.policies.create(t, policyInput({ priority: 3 }));
      const b = await ctx.platform.policies.create(t, policyInput({ priority: 2, active: false }));
      const c = await ctx.platform.policies.create(t, policyInput({ priority: 1 }));
      const d = await ctx.platform.policies.create(t, policyInput({ priority: 9 }));
      await ctx.platform.policies.setActive(t, d.id, false);
      expect((await pageAll(t, { active: "true", limit: 1 })).seen.map((p) => p.id)).toEqual([a.id, c.id]);
      expect((await pageAll(t, { active: "false", limit: 1 })).seen.map((p) => p.id)).toEqual([d.id, b.id]);
      expect((await ctx.platform.policies.list(t)).items.map((p) => p.id)).toEqual([d.id, a.id, b.id, c.id]);
    });

    it("lists only the tenant's own policies", async () => {
      const a = await tenant();
      const b = await tenant();
      await ctx.platform.policies.create(b, policyInput());
      expect((await ctx.platform.policies.list(a)).items).toEqual([]);
    });

    const cursor = (values: unknown) => Buffer.from(JSON.stringify(values)).toString("base64url");
    const bad: [string, Record<string, unknown>, "validation_failed" | "invalid_cursor", string][] = [
      ["limit 0", { limit: 0 }, "validation_failed", "limit"],
      ["limit 101", { limit: 101 }, "validation_failed", "limit"],
      ["active that is not true/false", { active: "yes" }, "validation_failed", "active"],
      ["an unknown field", { priority: 5 }, "validation_failed", "priority"],
      ["a garbage cursor", { cursor: "%%%" }, "invalid_cursor", "cursor"],
      [
        "an episodes cursor",
        { cursor: cursor(["2030-01-01T00:00:00.000000Z", randomUUID()]) },
        "invalid_cursor",
        "cursor",
      ],
      [
        "a cursor with a string priority",
        { cursor: cursor(["5", "2030-01-01T00:00:00.000000Z", randomUUID()]) },
        "invalid_cursor",
        "cursor",
      ],
      [
        "a cursor with a huge priority",
        { cursor: cursor([2 ** 40, "2030-01-01T00:00:00.000000Z", randomUUID()]) },
        "invalid_cursor",
        "cursor",
      ],
      [
        "a cursor with a bad id",
        { cursor: cursor([5, "2030-01-01T00:00:00.000000Z", "x"]) },
        "invalid_cursor",
        "cursor",
      ],
      [
        "a cursor with a bad timestamp",
        { cursor: cursor([5, "2030-02-30T00:00:00Z", randomUUID()]) },
        "invalid_cursor",
        "cursor",
      ],
    ];
    it.each(bad)("rejects %s", async (_, query, code, field) => {
      const t = await tenant();
      await ctx.platform.policies.create(t, policyInput());
      await expectError(ctx.platform.policies.list(t, query), code, { field });
    });
  });

  describe("inEffect", () => {
    it("returns active policies whose window contains the instant, highest priority first", async () => {
      const t = await tenant();
      const always = await ctx.platform.policies.create(t, policyInput({ priority: 10 }));
      const inactive = await ctx.platform.policies.create(t, policyInput({ priority: 999, active: false }));
      const june = await ctx.platform.policies.create(
        t,
        policyInput({
          priority: 50,
          effectiveFrom: "2030-06-01T00:00:00Z",
          effectiveUntil: "2030-07-01T00:00:00Z",
        }),
      );
      const fromJuly = await ctx.platform.policies.create(
        t,
        policyInput({ priority: 500, effectiveFrom: "2030-07-01T00:00:00Z" }),
      );
      const untilJune = await ctx.platform.policies.create(
        t,
        policyInput({ priority: 5, effectiveUntil: "2030-06-01T00:00:00Z" }),
      );
      const at = (iso: string) =>
        withTenant(ctx.db, t, async (trx) =>
          (await ctx.platform.policies.inEffect(trx, new Date(iso))).map((p) => p.id),
        );

      expect(await at("2030-05-31T23:59:59Z")).toEqual([always.id, untilJune.id]);
      expect(await at("2030-06-01T00:00:00Z")).toEqual([june.id, always.id]); // from inclusive, until exclusive
      expect(await at("2030-06-15T00:00:00Z")).toEqual([june.id, always.id]);
      expect(await at("2030-07-01T00:00:00Z")).toEqual([fromJuly.id, always.id]);
      expect(await at("2031-01-01T00:00:00Z")).toEqual([fromJuly.id, always.id]);
      expect((await at("2030-06-15T00:00:00Z")).includes(inactive.id)).toBe(false);

      await ctx.platform.policies.setActive(t, june.id, false);
      await ctx.platform.policies.setActive(t, inactive.id, true);
      expect(await at("2030-06-15T00:00:00Z")).toEqual([inactive.id, always.id]);
    });

    it("defaults to now and sees only the tenant's policies", async () => {
      const a = await tenant();
      const b = await tenant();
      const mine = await ctx.platform.policies.create(a, policyInput());
      await ctx.platform.policies.create(b, policyInput());
      await ctx.platform.policies.create(
        a,
        policyInput({ effectiveFrom: new Date(Date.now() + 86_400_000).toISOString() }),
      );
      const now = await withTenant(ctx.db, a, (trx) => ctx.platform.policies.inEffect(trx));
      expect(now.map((p) => p.id)).toEqual([mine.id]);
    });
  });
});
