/**
 * The webhook channel against a real receiver on loopback: signing, the SSRF guard (by address, by name,
 * with every resolved address checked and the connection pinned to the vetted one), no redirects, and
 * how answers map onto retryable or permanent failures.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWebhookReceiver, type WebhookReceiver } from "../../test/support/fake-servers.ts";
import { NotificationError } from "./notification-error.js";
import { type ResolvedAddress, sendWebhook } from "./webhook.js";

const SECRET = "whsec_9f8e7d6c5b4a";
let receiver: WebhookReceiver;
let hanging: Server;
let hangingPort: number;

beforeAll(async () => {
  receiver = await startWebhookReceiver(SECRET);
  hanging = createServer(() => {
    /* never answers */
  });
  await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
  hangingPort = (hanging.address() as AddressInfo).port;
});
afterAll(async () => {
  await receiver.close();
  hanging.closeAllConnections();
  await new Promise((resolve) => hanging.close(resolve));
});

const request = (url: string, body = '{"text":"hello"}') => ({
  url,
  body,
  secret: SECRET,
  idempotencyKey: "policy:p:1:0",
});
const allowLoopback = { allowPrivateNetworks: true };

async function failure(promise: Promise<unknown>): Promise<NotificationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NotificationError);
  return error as NotificationError;
}

describe("sendWebhook", () => {
  it("POSTs the body signed, with timestamp and idempotency key, to an allowed receiver", async () => {
    const before = receiver.deliveries.length;
    const result = await sendWebhook(
      request(receiver.url("/signed"), '{"text":"Line 3 stopped"}'),
      allowLoopback,
    );
    expect(result).toEqual({ status: 204, address: "127.0.0.1" });
    const delivery = receiver.deliveries[before];
    expect(delivery).toMatchObject({
      path: "/signed",
      body: '{"text":"Line 3 stopped"}',
      signatureValid: true,
    });
    expect(delivery?.headers).toMatchObject({
      "content-type": "application/json",
      "x-cybernetic-idempotency-key": "policy:p:1:0",
      "x-cybernetic-timestamp": expect.stringMatching(/^\d{10}$/),
      "x-cybernetic-signature": expect.stringMatching(/^sha256=[0-9a-f]{64}$/),
    });
  });

  it("refuses loopback and private targets by default, before sending anything", async () => {
    const before = receiver.deliveries.length;
    for (const url of [
      receiver.url(),
      `http://[::1]:${receiver.port}/`,
      "http://10.0.0.8/hook",
      "http://169.254.169.254/latest",
    ]) {
      const error = await failure(sendWebhook(request(url)));
      expect(error).toMatchObject({ code: "refused", retryable: false });
    }
    expect(receiver.deliveries.length).toBe(before);
  });

  it("refuses a host name when any of its addresses is private", async () => {
    const resolve = async (): Promise<ResolvedAddress[]> => [
      { address: "93.184.216.34", family: 4 },
      { address: "10.1.2.3", family: 4 },
    ];
    const error = await failure(sendWebhook(request("https://hooks.example.test/x"), { resolve }));
    expect(error.code).toBe("refused");
    expect(error.message).toContain("10.1.2.3");
  });

  it("connects to the vetted address only: no second DNS lookup at connect time", async () => {
    // `rebind.invalid` cannot be resolved by the system; if the socket looked it up again, it would fail.
    let lookups = 0;
    const resolve = async (): Promise<ResolvedAddress[]> => {
      lookups++;
      return [{ address: "127.0.0.1", family: 4 }];
    };
    const before = receiver.deliveries.length;
    const result = await sendWebhook(request(`http://rebind.invalid:${receiver.port}/pinned`), {
      ...allowLoopback,
      resolve,
    });
    expect(result.address).toBe("127.0.0.1");
    expect(lookups).toBe(1);
    expect(receiver.deliveries[before]).toMatchObject({ path: "/pinned", signatureValid: true });
    expect(receiver.deliveries[before]?.headers.host).toBe(`rebind.invalid:${receiver.port}`);
  });

  it("accepts only http and https, without credentials", async () => {
    for (const url of [
      "ftp://example.com/x",
      "file:///etc/passwd",
      "gopher://example.com",
      "not a url",
      "http://user:pw@example.com/",
    ]) {
      const error = await failure(sendWebhook(request(url)));
      expect(error).toMatchObject({ code: "invalid_target", retryable: false });
    }
  });

  it("never follows a redirect", async () => {
    receiver.respondNext(302, { location: "http://169.254.169.254/latest/meta-data" });
    const before = receiver.deliveries.length;
    const error = await failure(sendWebhook(request(receiver.url("/redirect")), allowLoopback));
    expect(error).toMatchObject({ code: "rejected", retryable: false, status: 302 });
    expect(receiver.deliveries.length).toBe(before + 1);
  });

  it("maps answers: 5xx, 408 and 429 retryable; other 4xx permanent", async () => {
    const expectations: [number, boolean][] = [
      [500, true],
      [503, true],
      [408, true],
      [429, true],
      [400, false],
      [404, false],
      [410, false],
    ];
    for (const [status, retryable] of expectations) {
      receiver.respondNext(status);
      const error = await failure(sendWebhook(request(receiver.url("/status")), allowLoopback));
      expect({ status: error.status, retryable: error.retryable }).toEqual({ status, retryable });
    }
  });

  it("gives up on a receiver that never answers (retryable timeout)", async () => {
    const error = await failure(
      sendWebhook(request(`http://127.0.0.1:${hangingPort}/slow`), { ...allowLoopback, timeoutMs: 200 }),
    );
    expect(error).toMatchObject({ code: "timeout", retryable: true });
  });

  it("reports an unreachable receiver as a retryable network error", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await failure(sendWebhook(request(`http://127.0.0.1:${port}/`), allowLoopback));
    expect(error).toMatchObject({ code: "network", retryable: true });
  });
});
