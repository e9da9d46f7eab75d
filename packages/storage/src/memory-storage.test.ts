import { describe, expect, it } from "vitest";
import { createMemoryStorage } from "./memory-storage.js";
import { describeStorageAdapter } from "./testing/index.js";

describeStorageAdapter("memory", () => createMemoryStorage({ highWaterMark: 256 * 1024 }));

describe("createMemoryStorage", () => {
  it("keeps separate instances separate", async () => {
    const a = createMemoryStorage();
    const b = createMemoryStorage();
    await a.put("k", "in a");
    expect(await a.exists("k")).toBe(true);
    expect(await b.exists("k")).toBe(false);
    expect(a.driver).toBe("memory");
  });

  it("copies the caller's bytes, so changing the buffer afterwards changes nothing", async () => {
    const storage = createMemoryStorage();
    const bytes = new Uint8Array([1, 2, 3]);
    await storage.put("k", bytes);
    bytes[0] = 9;
    const { body } = await storage.get("k");
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    expect([...Buffer.concat(chunks)]).toEqual([1, 2, 3]);
  });

  it("has no signedUrl (it has no endpoint)", () => {
    expect(createMemoryStorage().signedUrl).toBeUndefined();
  });
});
