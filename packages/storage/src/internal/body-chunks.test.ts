import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { StorageError } from "../storage-error.js";
import { bodyChunks } from "./body-chunks.js";

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of iterable) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts).toString();
}

describe("bodyChunks", () => {
  it("reads every body type in order and skips empty chunks", async () => {
    expect(await collect(bodyChunks("héllo", undefined))).toBe("héllo");
    expect(await collect(bodyChunks(new TextEncoder().encode("bytes"), undefined))).toBe("bytes");
    expect(
      await collect(bodyChunks(Readable.from([Buffer.from("a"), Buffer.alloc(0), "b"]), undefined)),
    ).toBe("ab");
    const web = new Response("from the web").body as ReadableStream<Uint8Array>;
    expect(await collect(bodyChunks(web, undefined))).toBe("from the web");
    const chunks: Uint8Array[] = [];
    for await (const chunk of bodyChunks("", undefined)) chunks.push(chunk);
    expect(chunks).toEqual([]);
  });

  it("releases a web stream on failure instead of cancelling it", async () => {
    const controller = new AbortController();
    const web = new ReadableStream<Uint8Array>({
      pull(c) {
        c.enqueue(new Uint8Array([1]));
      },
    });
    const error = await (async () => {
      for await (const _ of bodyChunks(web, controller.signal)) controller.abort();
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(StorageError.isInstance(error) && error.code).toBe("aborted");
    expect(web.locked).toBe(false);
    const reader = web.getReader();
    expect((await reader.read()).done).toBe(false); // still usable by its owner
    await reader.cancel();
  });
});
