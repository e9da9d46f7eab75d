/**
 * The OpenAI-compatible analyzer against a fake chat-completions server on loopback that speaks the real
 * protocol (request and response bodies, error bodies, `retry-after`). Each test gets its own path
 * prefix, so request counts are per test.
 */
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { type EpisodeAnalysis, episodeAnalysisSchema } from "@cybernetic/core/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ANALYSIS_SYSTEM_PROMPT,
  AnalyzerError,
  createOpenAICompatibleAnalyzer,
  type OpenAICompatibleAnalyzerOptions,
} from "./index.js";

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: {
    model: string;
    messages: { role: string; content: string }[];
    response_format: { type: string };
    temperature?: number;
  };
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body: string;
  /** Wait this long before answering (the connection closing cancels the wait). */
  delayMs?: number;
}

type Scenario = (attempt: number) => Reply;

const API_KEY = "sk-test-4f1c9e2b7d8a6c5e3f0a1b2c";
const scenarios = new Map<string, Scenario>();
const requests = new Map<string, RecordedRequest[]>();
const arrivals = new Map<string, () => void>();
let server: Server;
let origin: string;

/** A chat completion as OpenAI returns it. */
function completion(content: string | null, extra: { refusal?: string; finishReason?: string } = {}): Reply {
  return {
    status: 200,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      id: "chatcmpl-9x2YbT3m",
      object: "chat.completion",
      created: 1_717_000_000,
      model: "fake-gpt-2024-07-18",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content, refusal: extra.refusal ?? null },
          logprobs: null,
          finish_reason: extra.finishReason ?? "stop",
        },
      ],
      usage: { prompt_tokens: 412, completion_tokens: 188, total_tokens: 600 },
      system_fingerprint: "fp_44709d6fcb",
    }),
  };
}

/** An OpenAI error body. */
function apiError(status: number, message: string, type: string, code: string | null, headers = {}): Reply {
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ error: { message, type, param: null, code } }),
  };
}

const validAnalysis = {
  summary: "The payment service was down for 47 minutes because of an expired certificate.",
  keywords: ["checkout", "outage", "certificate"],
  topics: ["incident"],
  entities: [
    { text: "Priya Natarajan", kind: "person", count: 2 },
    { text: "@sre-team", kind: "mention", count: 1 },
  ],
  sentiment: { score: -0.6, label: "negative", confidence: 0.9 },
  systems: [1, 3],
  risk: { level: "high", reasons: ["service outage"] },
  language: "en",
};

const episode = {
  title: "Checkout outage",
  content: "The payment service went down for 47 minutes. Priya Natarajan was paged.",
  tags: ["incident"],
  source: "incident-tracker",
};

/** Registers a scenario under a fresh path and returns analyzer options pointing at it. */
function scenario(name: string, handler: Scenario): Pick<OpenAICompatibleAnalyzerOptions, "baseUrl"> {
  scenarios.set(name, handler);
  requests.set(name, []);
  return { baseUrl: `${origin}/${name}/v1` };
}

function analyzerFor(
  name: string,
  handler: Scenario,
  options: Partial<OpenAICompatibleAnalyzerOptions> = {},
) {
  return createOpenAICompatibleAnalyzer({
    ...scenario(name, handler),
    apiKey: API_KEY,
    model: "gpt-4o-mini",
    initialRetryDelayMs: 5,
    maxRetryDelayMs: 20,
    ...options,
  });
}

async function rejection(promise: Promise<unknown>): Promise<AnalyzerError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(AnalyzerError.isInstance(error)).toBe(true);
  expect(error).toBeInstanceOf(AnalyzerError);
  const analyzerError = error as AnalyzerError;
  expect(analyzerError.message).not.toContain(API_KEY);
  return analyzerError;
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const match = /^\/([^/]+)\/v1\/chat\/completions$/.exec(req.url ?? "");
      const name = match?.[1];
      const handler = name === undefined ? undefined : scenarios.get(name);
      if (name === undefined || handler === undefined || req.method !== "POST") {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "Unknown route", type: "invalid_request_error" } }));
        return;
      }
      const log = requests.get(name)!;
      log.push({
        method: req.method,
        url: req.url ?? "",
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString("utf8")),
      });
      arrivals.get(name)?.();
      const reply = handler(log.length);
      const send = () => {
        res.writeHead(reply.status, reply.headers ?? {});
        res.end(reply.body);
      };
      if (reply.delayMs === undefined) {
        send();
        return;
      }
      const timer = setTimeout(send, reply.delayMs);
      res.on("close", () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("openai-compatible analyzer: success", () => {
  it("sends a real chat-completions request and returns the validated analysis", async () => {
    const analyzer = analyzerFor("success", () => completion(JSON.stringify(validAnalysis)), {
      temperature: 0.2,
    });
    const result = await analyzer.analyze(episode);

    expect(analyzer.name).toBe("openai-compatible");
    expect(result).toEqual({
      ...validAnalysis,
      analyzer: { name: "openai-compatible", version: "fake-gpt-2024-07-18" },
    });
    expect(episodeAnalysisSchema.parse(result)).toEqual(result);

    const [request, ...more] = requests.get("success")!;
    expect(more).toHaveLength(0);
    expect(request!.method).toBe("POST");
    expect(request!.url).toBe("/success/v1/chat/completions");
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.headers["content-type"]).toBe("application/json");
    expect(request!.body.model).toBe("gpt-4o-mini");
    expect(request!.body.response_format).toEqual({ type: "json_object" });
    expect(request!.body.temperature).toBe(0.2);
    expect(request!.body.messages).toHaveLength(2);
    expect(request!.body.messages[0]).toEqual({ role: "system", content: ANALYSIS_SYSTEM_PROMPT });
    expect(request!.body.messages[0]!.content).toContain("JSON");
    expect(request!.body.messages[1]!.role).toBe("user");
    expect(request!.body.messages[1]!.content).toContain("Title: Checkout outage");
    expect(request!.body.messages[1]!.content).toContain("Source: incident-tracker");
    expect(request!.body.messages[1]!.content).toContain("Tags: incident");
    expect(request!.body.messages[1]!.content).toContain(episode.content);
  });

  it("omits authorization and temperature when not configured, and truncates long content", async () => {
    const analyzer = createOpenAICompatibleAnalyzer({
      ...scenario("no-key", () => completion(JSON.stringify(validAnalysis))),
      model: "llama3.1",
      maxInputChars: 100,
    });
    await analyzer.analyze({ title: "t", content: "x".repeat(5_000) });
    const [request] = requests.get("no-key")!;
    expect(request!.headers.authorization).toBeUndefined();
    expect(request!.body).not.toHaveProperty("temperature");
    expect(request!.body.model).toBe("llama3.1");
    expect(request!.body.messages[1]!.content).toContain(`${"x".repeat(100)}\n[truncated]`);
    expect(request!.body.messages[1]!.content).not.toContain("x".repeat(101));
  });

  it("fills `analyzer` itself and forgives unsorted systems, a null language and a Markdown fence", async () => {
    const content = {
      ...validAnalysis,
      systems: [3, 1, 3],
      language: null,
      analyzer: { name: "something-else", version: "0" },
    };
    const analyzer = analyzerFor("lenient", () =>
      completion(`\`\`\`json\n${JSON.stringify(content)}\n\`\`\``),
    );
    const result: EpisodeAnalysis = await analyzer.analyze(episode);
    expect(result.systems).toEqual([1, 3]);
    expect(result).not.toHaveProperty("language");
    expect(result.analyzer).toEqual({ name: "openai-compatible", version: "fake-gpt-2024-07-18" });
  });
});

describe("openai-compatible analyzer: invalid responses", () => {
  it("rejects content that is not JSON, without retrying", async () => {
    const analyzer = analyzerFor("invalid-json", () =>
      completion("Sure! Here is the analysis: {summary: ..."),
    );
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("invalid_response");
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/not valid JSON/);
    expect(requests.get("invalid-json")).toHaveLength(1);
  });

  it("rejects JSON that violates the schema and names the offending fields", async () => {
    const bad = {
      ...validAnalysis,
      sentiment: { score: 5, label: "ecstatic", confidence: 0.9 },
      systems: [7],
    };
    const analyzer = analyzerFor("schema-violation", () => completion(JSON.stringify(bad)));
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("invalid_response");
    expect(error.message).toMatch(/does not match the analysis schema/);
    expect(error.message).toContain("sentiment.score");
    expect(error.message).toContain("sentiment.label");
    expect(error.message).toContain("systems.0");
    expect(error.cause).toBeDefined();
  });

  it("rejects a completion without content, reporting the refusal", async () => {
    const analyzer = analyzerFor("refusal", () => completion(null, { refusal: "I can't help with that." }));
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("invalid_response");
    expect(error.message).toContain("I can't help with that.");
  });

  it("treats a 200 that is not JSON as a non-retryable misconfiguration", async () => {
    const analyzer = analyzerFor("html", () => ({
      status: 200,
      headers: { "content-type": "text/html" },
      body: "<html><body>Welcome to nginx!</body></html>",
    }));
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("invalid_response");
    expect(error.retryable).toBe(false);
  });

  it("refuses a response body larger than maxResponseBytes", async () => {
    const analyzer = analyzerFor(
      "too-large",
      () => completion(JSON.stringify({ ...validAnalysis, summary: "s".repeat(5_000) })),
      {
        maxResponseBytes: 1_000,
      },
    );
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("invalid_response");
    expect(error.message).toMatch(/exceeds 1000 bytes/);
  });
});

describe("openai-compatible analyzer: HTTP errors and retries", () => {
  it("honours retry-after on 429, then succeeds", async () => {
    const analyzer = analyzerFor("rate-limited", (attempt) =>
      attempt === 1
        ? apiError(
            429,
            "Rate limit reached for gpt-4o-mini on requests per min.",
            "requests",
            "rate_limit_exceeded",
            {
              "retry-after": "0",
            },
          )
        : completion(JSON.stringify(validAnalysis)),
    );
    const result = await analyzer.analyze(episode);
    expect(result.summary).toBe(validAnalysis.summary);
    expect(requests.get("rate-limited")).toHaveLength(2);
  });

  it("fails fast, retryable, when retry-after points past the deadline", async () => {
    const analyzer = analyzerFor(
      "rate-limited-long",
      () =>
        apiError(429, "Rate limit reached.", "requests", "rate_limit_exceeded", { "retry-after": "3600" }),
      { timeoutMs: 5_000 },
    );
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("http_error");
    expect(error.status).toBe(429);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("Rate limit reached.");
    expect(requests.get("rate-limited-long")).toHaveLength(1);
  });

  it("retries a 500, then succeeds", async () => {
    const analyzer = analyzerFor("flaky", (attempt) =>
      attempt === 1
        ? apiError(500, "The server had an error while processing your request.", "server_error", null)
        : completion(JSON.stringify(validAnalysis)),
    );
    const result = await analyzer.analyze(episode);
    expect(result.risk.level).toBe("high");
    expect(requests.get("flaky")).toHaveLength(2);
  });

  it("gives up after maxRetries on persistent 5xx", async () => {
    const analyzer = analyzerFor(
      "down",
      () => apiError(503, "The engine is currently overloaded.", "server_error", null),
      {
        maxRetries: 2,
      },
    );
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("http_error");
    expect(error.status).toBe(503);
    expect(error.retryable).toBe(true);
    expect(requests.get("down")).toHaveLength(3);
  });

  it("does not retry a 401 and never leaks the API key the server echoes", async () => {
    const analyzer = analyzerFor("unauthorized", () =>
      apiError(
        401,
        `Incorrect API key provided: ${API_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        "invalid_request_error",
        "invalid_api_key",
      ),
    );
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("http_error");
    expect(error.status).toBe(401);
    expect(error.retryable).toBe(false);
    expect(error.message).toContain("Incorrect API key provided: [redacted]");
    expect(JSON.stringify({ ...error, message: error.message, stack: error.stack })).not.toContain(API_KEY);
    expect(requests.get("unauthorized")).toHaveLength(1);
  });

  it("does not retry other 4xx", async () => {
    const analyzer = analyzerFor("bad-request", () =>
      apiError(400, "Invalid value for 'response_format'.", "invalid_request_error", null),
    );
    const error = await rejection(analyzer.analyze(episode));
    expect(error.status).toBe(400);
    expect(error.retryable).toBe(false);
    expect(requests.get("bad-request")).toHaveLength(1);
  });

  it("reports network errors after retrying them", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    const analyzer = createOpenAICompatibleAnalyzer({
      baseUrl: `http://127.0.0.1:${port}/v1`,
      apiKey: API_KEY,
      model: "gpt-4o-mini",
      maxRetries: 1,
      initialRetryDelayMs: 1,
    });
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("network_error");
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/after 2 attempt\(s\)/);
  });
});

describe("openai-compatible analyzer: timeouts and aborts", () => {
  it("times out a slow response without retrying it", async () => {
    const analyzer = analyzerFor(
      "slow",
      () => ({ ...completion(JSON.stringify(validAnalysis)), delayMs: 10_000 }),
      {
        timeoutMs: 200,
      },
    );
    const error = await rejection(analyzer.analyze(episode));
    expect(error.code).toBe("timeout");
    expect(error.retryable).toBe(true);
    expect(requests.get("slow")).toHaveLength(1);
  });

  it("rejects with the caller's reason when the caller aborts", async () => {
    const arrived = new Promise<void>((resolve) => arrivals.set("aborted", resolve));
    const analyzer = analyzerFor("aborted", () => ({
      ...completion(JSON.stringify(validAnalysis)),
      delayMs: 10_000,
    }));
    const controller = new AbortController();
    const reason = new Error("worker shutting down");
    const pending = analyzer.analyze(episode, { signal: controller.signal });
    await arrived;
    controller.abort(reason);
    await expect(pending).rejects.toBe(reason);

    const early = new AbortController();
    early.abort(reason);
    await expect(analyzer.analyze(episode, { signal: early.signal })).rejects.toBe(reason);
    expect(requests.get("aborted")).toHaveLength(1);
  });
});

describe("openai-compatible analyzer: options", () => {
  it("rejects a bad configuration up front", () => {
    expect(() => createOpenAICompatibleAnalyzer({ baseUrl: "not a url", model: "m" })).toThrow(TypeError);
    expect(() => createOpenAICompatibleAnalyzer({ baseUrl: "ftp://example.com", model: "m" })).toThrow(
      TypeError,
    );
    expect(() => createOpenAICompatibleAnalyzer({ baseUrl: origin, model: " " })).toThrow(/model/);
    expect(() => createOpenAICompatibleAnalyzer({ baseUrl: origin, model: "m", timeoutMs: 0 })).toThrow(
      RangeError,
    );
    expect(() => createOpenAICompatibleAnalyzer({ baseUrl: origin, model: "m", maxRetries: -1 })).toThrow(
      RangeError,
    );
    expect(() => createOpenAICompatibleAnalyzer({ baseUrl: origin, model: "m", temperature: 3 })).toThrow(
      RangeError,
    );
  });

  it("uses the fetch it is handed", async () => {
    const seen: string[] = [];
    const analyzer = createOpenAICompatibleAnalyzer({
      ...scenario("custom-fetch", () => completion(JSON.stringify(validAnalysis))),
      model: "m",
      fetch: (input, init) => {
        seen.push(String(input));
        return fetch(input, init);
      },
    });
    await analyzer.analyze(episode);
    expect(seen).toEqual([`${origin}/custom-fetch/v1/chat/completions`]);
  });
});
