import { describe, expect, it } from "vitest";
import { databaseConfigSchema, describeDatabaseUrl, parseDatabaseConfig } from "./config.js";
import { CyberneticError } from "./errors.js";

const url = "postgres://app:secret@db.internal:5432/cybernetic";

/** Parses and returns the error, failing the test when parsing succeeds. */
function failure(input: unknown): CyberneticError {
  try {
    parseDatabaseConfig(input);
  } catch (error) {
    expect(CyberneticError.isInstance(error)).toBe(true);
    return error as CyberneticError;
  }
  throw new Error("expected parseDatabaseConfig to fail");
}

const issuePaths = (error: CyberneticError) =>
  (error.details as { issues: { path: string }[] }).issues.map((i) => i.path);

describe("parseDatabaseConfig", () => {
  it("fills the defaults (statement timeout 30 s)", () => {
    const config = parseDatabaseConfig({ url });
    expect(config).toEqual({
      url,
      poolSize: 10,
      statementTimeoutMs: 30_000,
      idleInTransactionTimeoutMs: 60_000,
      connectionTimeoutMs: 10_000,
      applicationName: "cybernetic",
      pooler: "auto",
    });
    expect(config.ownerUrl).toBeUndefined();
    expect(config.directUrl).toBeUndefined();
  });

  it('rejects a pooler other than "auto", "none" or "transaction", naming the field', () => {
    const result = databaseConfigSchema.safeParse({ url, pooler: "session" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(["pooler"]);
  });

  it("keeps given values and accepts every sslmode", () => {
    for (const sslmode of [
      "disable",
      "allow",
      "prefer",
      "require",
      "verify-ca",
      "verify-full",
      "no-verify",
    ]) {
      const config = parseDatabaseConfig({
        url: `${url}?sslmode=${sslmode}`,
        ownerUrl: `postgresql://owner:pw@db.internal/cybernetic?sslmode=${sslmode}`,
        poolSize: 1,
        statementTimeoutMs: 0,
        applicationName: "gateway-1",
      });
      expect(config).toMatchObject({ poolSize: 1, statementTimeoutMs: 0, applicationName: "gateway-1" });
      expect(config.url).toContain(sslmode);
    }
  });

  it("accepts a socket directory given as ?host= instead of a hostname", () => {
    expect(parseDatabaseConfig({ url: "postgres:///cybernetic?host=/var/run/postgresql" }).url).toContain(
      "host=",
    );
  });

  it("is idempotent: a parsed config parses to itself", () => {
    const config = parseDatabaseConfig({ url, poolSize: 3 });
    expect(parseDatabaseConfig(config)).toEqual(config);
  });

  it.each<[string, Record<string, unknown>, string, RegExp]>([
    ["a missing url", {}, "url", /url/],
    ["a url that is not a URL", { url: "not a url" }, "url", /must be a URL/],
    ["a url that is a number", { url: 5432 }, "url", /url/],
    [
      "the wrong protocol",
      { url: "mysql://u:p@db:3306/x" },
      "url",
      /postgres:\/\/ or postgresql:\/\/, not mysql:/,
    ],
    ["an http url", { url: "http://db:5432/x" }, "url", /not http:/],
    ["no host", { url: "postgres:///cybernetic" }, "url", /must name a host/],
    ["a bad sslmode", { url: `${url}?sslmode=always` }, "url", /sslmode must be one of/],
    ["a bad ownerUrl", { url, ownerUrl: "postgres//nope" }, "ownerUrl", /must be a URL/],
    ["an ownerUrl with a bad sslmode", { url, ownerUrl: `${url}?sslmode=yes` }, "ownerUrl", /sslmode/],
    ["pool size 0", { url, poolSize: 0 }, "poolSize", /poolSize/],
    ["pool size 501", { url, poolSize: 501 }, "poolSize", /poolSize/],
    ["a fractional pool size", { url, poolSize: 2.5 }, "poolSize", /poolSize/],
    ["a pool size given as a string", { url, poolSize: "10" }, "poolSize", /poolSize/],
    [
      "a negative statement timeout",
      { url, statementTimeoutMs: -1 },
      "statementTimeoutMs",
      /statementTimeoutMs/,
    ],
    [
      "a statement timeout over an hour",
      { url, statementTimeoutMs: 3_600_001 },
      "statementTimeoutMs",
      /statementTimeoutMs/,
    ],
    [
      "a connection timeout under 100 ms",
      { url, connectionTimeoutMs: 99 },
      "connectionTimeoutMs",
      /connectionTimeoutMs/,
    ],
    ["an empty application name", { url, applicationName: "" }, "applicationName", /applicationName/],
    [
      "a 64-character application name",
      { url, applicationName: "a".repeat(64) },
      "applicationName",
      /applicationName/,
    ],
  ])("rejects %s, naming the field", (_, input, field, message) => {
    const error = failure(input);
    expect(error.code).toBe("validation_failed");
    expect(error.status).toBe(400);
    expect(issuePaths(error)).toContain(field);
    expect(error.message).toContain(`${field}:`);
    expect(error.message).toMatch(message);
  });

  it("rejects unknown fields (a misspelt option is not silently ignored)", () => {
    const error = failure({ url, poolsize: 10 });
    expect(error.message).toContain("poolsize");
  });

  it("names every bad field at once", () => {
    const error = failure({ url: "mysql://x/y", poolSize: 0, statementTimeoutMs: -5 });
    expect(issuePaths(error)).toEqual(expect.arrayContaining(["url", "poolSize", "statementTimeoutMs"]));
  });

  it("rejects input that is not an object", () => {
    for (const input of [undefined, null, "postgres://x/y", 42]) {
      expect(failure(input).code).toBe("validation_failed");
    }
  });

  it("never echoes the password in its messages", () => {
    const error = failure({ url: "mysql://app:hunter2@db/x", poolSize: 0 });
    expect(error.message).not.toContain("hunter2");
  });

  it("the schema is exported for hosts that compose their own config", () => {
    expect(databaseConfigSchema.safeParse({ url }).success).toBe(true);
    expect(databaseConfigSchema.safeParse({ url: "x" }).success).toBe(false);
  });
});

describe("describeDatabaseUrl", () => {
  it.each<[string, string]>([
    ["postgres://app:secret@db:5432/x", "db:5432/x"],
    ["postgresql://app:secret@db/cybernetic", "db:5432/cybernetic"],
    ["postgres://app@10.0.0.5:6543/x?sslmode=require", "10.0.0.5:6543/x"],
    ["postgres:///x?host=/var/run/postgresql", "/var/run/postgresql:5432/x"],
    ["not a url", "(unparseable database URL)"],
  ])("%s → %s, never the password", (input, expected) => {
    const described = describeDatabaseUrl(input);
    expect(described).toBe(expected);
    expect(described).not.toContain("secret");
  });
});
