/**
 * The webhook channel: POSTs a JSON body, signed, to a tenant-chosen URL, with an SSRF guard.
 *
 * Why node:http with a pinned `lookup` (and not `fetch`): the guard must check the addresses the request
 * will actually connect to. We resolve the host once (`dns.lookup`, all addresses), refuse if ANY of them
 * is not allowed, and hand the socket a `lookup` function that returns exactly those vetted addresses,
 * so a second resolution at connect time (DNS rebinding: public on the first answer, 127.0.0.1 on the
 * second) cannot happen. TLS still verifies the certificate against the host name (SNI and checks use the
 * URL's host, not the IP). This is the same guarantee as undici's `Agent({ connect: { lookup } })`,
 * without the dependency. Redirects are never followed (node:http does not), and a 3xx is a permanent
 * failure: following one would be a way around the guard.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import http from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { classifyAddress, isAddressAllowed } from "./classify-address.js";
import { NotificationError } from "./notification-error.js";
import { signWebhook } from "./webhook-signature.js";

/** One address a host name resolved to. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Options of the webhook channel (worker dependencies `webhook`). */
export interface WebhookOptions {
  /**
   * Allow private, loopback, link-local, CGNAT and unique-local targets (an on-premises deployment
   * posting to internal services, or tests on loopback). Default false. Multicast and unspecified
   * addresses are refused regardless.
   */
  allowPrivateNetworks?: boolean;
  /** Deadline for the whole request, connect to last byte. Default 10 000 ms. */
  timeoutMs?: number;
  /** Resolves a host name to every address; default `dns.lookup(host, { all: true })`. */
  resolve?: (hostname: string) => Promise<ResolvedAddress[]>;
}

/** One webhook delivery. */
export interface WebhookRequest {
  url: string;
  /** The JSON body, serialised (signed as sent). */
  body: string;
  /** The tenant's secret (`settings.webhookSecret`). */
  secret: string;
  /** Sent as `x-cybernetic-idempotency-key`: the same for every retry of one notification. */
  idempotencyKey: string;
  signal?: AbortSignal;
}

/** The receiver's answer to a successful delivery. */
export interface WebhookResult {
  status: number;
  /** The address we connected to. */
  address: string;
}

const MAX_ERROR_BODY = 300;

async function defaultResolve(hostname: string): Promise<ResolvedAddress[]> {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
}

/**
 * Checks a webhook URL and resolves it to addresses the guard allows. Throws `NotificationError`
 * (`invalid_target` or `refused`, not retryable; `dns`, retryable).
 *
 * @example
 * ```ts
 * await vetWebhookTarget(new URL("http://10.0.0.5/hook"), {}); // throws: refused (private)
 * ```
 */
export async function vetWebhookTarget(url: URL, options: WebhookOptions): Promise<ResolvedAddress[]> {
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new NotificationError("invalid_target", `webhook URLs must be http or https, not ${url.protocol}`, {
      retryable: false,
    });
  }
  if (url.username !== "" || url.password !== "") {
    throw new NotificationError("invalid_target", "webhook URLs must not carry credentials", {
      retryable: false,
    });
  }
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  let addresses: ResolvedAddress[];
  if (isIP(host) !== 0) {
    addresses = [{ address: host, family: isIP(host) === 6 ? 6 : 4 }];
  } else {
    try {
      addresses = await (options.resolve ?? defaultResolve)(host);
    } catch (error) {
      throw new NotificationError("dns", `could not resolve ${host}`, { retryable: true, cause: error });
    }
    if (addresses.length === 0)
      throw new NotificationError("dns", `${host} has no addresses`, { retryable: true });
  }
  for (const { address } of addresses) {
    if (!isAddressAllowed(address, options)) {
      throw new NotificationError(
        "refused",
        `refused: ${host} resolves to ${address} (${classifyAddress(address)}); private networks are not allowed`,
        { retryable: false },
      );
    }
  }
  return addresses;
}

/** A `lookup` that answers only with the vetted addresses (no second DNS query at connect time). */
function pinnedLookup(addresses: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const usable = options.family ? addresses.filter((a) => a.family === options.family) : addresses;
    const list = usable.length > 0 ? usable : addresses;
    if (options.all) {
      callback(
        null,
        list.map((a) => ({ address: a.address, family: a.family })),
      );
      return;
    }
    const first = list[0] as ResolvedAddress;
    callback(null, first.address, first.family);
  };
}

function classifyStatus(status: number, snippet: string): NotificationError {
  const detail = `webhook answered ${status}${snippet ? `: ${snippet}` : ""}`;
  if (status >= 300 && status < 400)
    return new NotificationError("rejected", `${detail} (redirects are not followed)`, {
      retryable: false,
      status,
    });
  if (status === 429) return new NotificationError("rate_limited", detail, { retryable: true, status });
  if (status === 408 || status === 425 || status >= 500)
    return new NotificationError("server_error", detail, { retryable: true, status });
  return new NotificationError("rejected", detail, { retryable: false, status });
}

/**
 * Delivers one webhook: vets the target (SSRF guard), signs the body and POSTs it with
 * `x-cybernetic-timestamp`, `x-cybernetic-signature` and `x-cybernetic-idempotency-key`. Resolves on a
 * 2xx; throws `NotificationError` otherwise (retryable for timeouts, network errors, 408/425/429/5xx).
 *
 * @example
 * ```ts
 * await sendWebhook({ url: "https://hooks.example.com/cyb", body: JSON.stringify(payload),
 *   secret: tenant.settings.webhookSecret, idempotencyKey: "policy:…:0" }, { timeoutMs: 5_000 });
 * ```
 */
export async function sendWebhook(
  request: WebhookRequest,
  options: WebhookOptions = {},
): Promise<WebhookResult> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new NotificationError("invalid_target", "invalid webhook URL", { retryable: false });
  }
  const addresses = await vetWebhookTarget(url, options);
  const timestamp = Math.floor(Date.now() / 1000);
  const body = Buffer.from(request.body);
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const signal = request.signal ? AbortSignal.any([timeout, request.signal]) : timeout;
  const client = url.protocol === "https:" ? https : http;
  let connected = "";
  return new Promise<WebhookResult>((resolve, reject) => {
    const req = client.request(
      url,
      {
        method: "POST",
        agent: false,
        lookup: pinnedLookup(addresses),
        signal,
        headers: {
          "content-type": "application/json",
          "content-length": String(body.length),
          "user-agent": "cybernetic-webhooks/1",
          "x-cybernetic-timestamp": String(timestamp),
          "x-cybernetic-signature": signWebhook(request.secret, timestamp, request.body),
          "x-cybernetic-idempotency-key": request.idempotencyKey,
        },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (chunk: Buffer) => {
          if (size < MAX_ERROR_BODY) chunks.push(chunk);
          size += chunk.length;
        });
        res.on("error", (error) =>
          reject(
            new NotificationError("network", "webhook response failed", { retryable: true, cause: error }),
          ),
        );
        res.on("end", () => {
          if (status >= 200 && status < 300) {
            resolve({ status, address: connected });
            return;
          }
          const snippet = Buffer.concat(chunks)
            .toString("utf8")
            .slice(0, MAX_ERROR_BODY)
            .replace(/\s+/g, " ")
            .trim();
          reject(classifyStatus(status, snippet));
        });
      },
    );
    req.on("socket", (socket) => {
      socket.on("connect", () => {
        connected = socket.remoteAddress ?? "";
      });
    });
    req.on("error", (error) => {
      if (timeout.aborted) {
        reject(new NotificationError("timeout", "webhook timed out", { retryable: true, cause: error }));
      } else if (signal.aborted) {
        reject(
          new NotificationError("network", "webhook delivery aborted", { retryable: true, cause: error }),
        );
      } else {
        const code = (error as NodeJS.ErrnoException).code ?? error.message;
        reject(
          new NotificationError("network", `webhook request failed (${code})`, {
            retryable: true,
            cause: error,
          }),
        );
      }
    });
    req.end(body);
  });
}
