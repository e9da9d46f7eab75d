/**
 * Typed events: `appendEvent(trx, tenantId, type, data)` is checked against the event registry at compile
 * time (the `@ts-expect-error` lines fail the type check if the check goes away) and validated at run
 * time (nothing reaches the outbox when the data does not match). `custom.<name>` keeps free-form JSON,
 * and `CyberneticEvent` narrows its data on `type`.
 */
import { beforeAll, describe, expect, expectTypeOf, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import {
  appendEvent,
  type CyberneticEvent,
  cyberneticEventSchema,
  eventDataSchemas,
  eventTypes,
  withTenant,
} from "../src/index.ts";
import { expectError } from "./support/expect-error.ts";

const ctx = useTestPlatform();
let tenantId: string;
const episodeId = "b1c2d3e4-0000-4000-8000-000000000001";

beforeAll(async () => {
  tenantId = (await seedTenant(ctx.platform)).tenant.id;
});

const eventsOf = (type: string) =>
  withTenant(ctx.db, tenantId, (trx) =>
    trx.selectFrom("events").select(["type", "data"]).where("type", "=", type).execute(),
  );

describe("the event registry", () => {
  it("has a data schema for every event type, and nothing else", () => {
    expect(Object.keys(eventDataSchemas).sort()).toEqual([...eventTypes].sort());
  });

  it("types each event's data by its type (a discriminated union)", () => {
    const riskOf = (event: CyberneticEvent) => {
      if (event.type === "episode.analyzed") {
        expectTypeOf(event.data.risk).toEqualTypeOf<string | null>();
        return event.data.risk;
      }
      if (event.type === "system.state_changed") expectTypeOf(event.data.system).toEqualTypeOf<number>();
      return undefined;
    };
    const analyzed: CyberneticEvent = {
      id: "1",
      type: "episode.analyzed",
      tenantId: episodeId,
      occurredAt: "2026-01-01T00:00:00.000Z",
      data: { episodeId, title: "t", risk: "high", systems: [3], sentiment: null },
    };
    expect(riskOf(analyzed)).toBe("high");
    expect(cyberneticEventSchema.safeParse(analyzed).success).toBe(true);
    expect(cyberneticEventSchema.safeParse({ ...analyzed, data: { episodeId } }).success).toBe(false);
  });
});

describe("appendEvent", () => {
  it("writes a built-in event whose data matches its schema, and a custom event with any JSON object", async () => {
    await withTenant(ctx.db, tenantId, async (trx) => {
      await appendEvent(trx, tenantId, "episode.failed", { episodeId, error: "model unavailable" });
      await appendEvent(trx, tenantId, "custom.shipment", { carrier: "dhl", items: [1, { sku: "a" }] });
    });
    expect(await eventsOf("episode.failed")).toEqual([
      { type: "episode.failed", data: { episodeId, error: "model unavailable" } },
    ]);
    expect((await eventsOf("custom.shipment"))[0]?.data).toEqual({
      carrier: "dhl",
      items: [1, { sku: "a" }],
    });
  });

  it("rejects at compile time and at run time data that does not match the type; nothing is written", async () => {
    await expectError(
      withTenant(ctx.db, tenantId, (trx) =>
        // @ts-expect-error `error` is missing from episode.failed's data
        appendEvent(trx, tenantId, "episode.analyzed", { episodeId, error: "x" }),
      ),
      "internal",
    );
    await expectError(
      withTenant(ctx.db, tenantId, (trx) =>
        // @ts-expect-error `system` is a number 1..5
        appendEvent(trx, tenantId, "system.state_changed", { system: "3", version: 2, previousVersion: 1 }),
      ),
      "internal",
    );
    const error = await expectError(
      withTenant(ctx.db, tenantId, (trx) =>
        // @ts-expect-error an unknown event type
        appendEvent(trx, tenantId, "episode.deleted", { episodeId }),
      ),
      "internal",
    );
    expect(error.message).toContain("episode.deleted");
    await expectError(
      withTenant(ctx.db, tenantId, (trx) =>
        // Custom names follow the `custom.<name>` pattern at run time too.
        appendEvent(trx, tenantId, "custom.Bad Name", {}),
      ),
      "internal",
    );
    for (const type of ["episode.analyzed", "system.state_changed", "episode.deleted"] satisfies string[])
      expect(await eventsOf(type), type).toEqual([]);
  });
});
