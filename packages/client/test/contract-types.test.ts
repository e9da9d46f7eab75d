/**
 * The client's contract types are generated from @cybernetic/core's contract so its `.d.ts` stands alone
 * (a browser app installs only the client). Here: the generated file is current, it is exactly core's
 * types (checked by `pnpm typecheck`, which compiles this file), and the built `.d.ts` names neither
 * @cybernetic/core nor zod.
 */
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, expectTypeOf, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { generateClientTypes, outFile } from "../../../scripts/generate-client-types.mjs";
import type * as core from "../../core/src/contract/index.ts";
import type * as client from "../src/index.ts";

describe("the client's contract types", () => {
  it("are current: regenerating them gives the committed file (else run pnpm generate:client-types)", () => {
    expect(readFileSync(outFile as string, "utf8")).toBe((generateClientTypes as () => string)());
    // A whole TypeScript program over the contract: seconds alone, far more on a loaded machine.
  }, 180_000);

  it("are core's types, member for member", () => {
    expectTypeOf<client.Episode>().toEqualTypeOf<core.Episode>();
    expectTypeOf<client.CreateEpisodeInput>().toEqualTypeOf<core.CreateEpisodeInput>();
    expectTypeOf<client.Policy>().toEqualTypeOf<core.Policy>();
    expectTypeOf<client.CreatePolicyInput>().toEqualTypeOf<core.CreatePolicyInput>();
    expectTypeOf<client.SystemState>().toEqualTypeOf<core.SystemState>();
    expectTypeOf<client.Artifact>().toEqualTypeOf<core.Artifact>();
    expectTypeOf<client.Tenant>().toEqualTypeOf<core.Tenant>();
    expectTypeOf<client.CyberneticEvent>().toEqualTypeOf<core.CyberneticEvent>();
    expectTypeOf<client.EventData<"episode.analyzed">>().toEqualTypeOf<core.EventData<"episode.analyzed">>();
    expectTypeOf<client.Page<client.Episode>>().toEqualTypeOf<core.Page<core.Episode>>();
    // One value of each shape round-trips between the two (a runtime anchor for the type checks).
    const event: client.CyberneticEvent = {
      id: "1",
      type: "episode.created",
      tenantId: "t",
      occurredAt: new Date(0).toISOString(),
      data: { episodeId: "e", title: "Late delivery", source: "api", tags: [] },
    };
    const same: core.CyberneticEvent = event;
    expect(same.type).toBe("episode.created");
  });

  it("leave the built .d.ts self-contained: no @cybernetic/core, no zod", () => {
    const dts = new URL("../dist/index.d.ts", import.meta.url);
    expect(existsSync(dts), "build the client first (pnpm build)").toBe(true);
    const text = readFileSync(dts, "utf8");
    const imports = [...text.matchAll(/from ['"]([^'"]+)['"]/g)].map((m) => m[1]);
    expect(imports.filter((name) => !name?.startsWith("."))).toEqual([]);
    expect(text).toContain("type Episode =");
  });
});
