import { CyberneticError, databaseUnavailable, isConnectionError, type Logger } from "@cybernetic/core";
import { HTTPError } from "h3";
import { type HeaderPair, Reply } from "./internal/reply.js";

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
  requestId: string;
}

interface PgLikeError {
  code?: unknown;
  severity?: unknown;
  message?: unknown;
  column?: unknown;
}

/**
 * PostgreSQL "data exception" errors (SQLSTATE class 22: invalid text, out-of-range values, bad
 * encodings) are caused by the input, so they are the caller's 400, never a 500. Core maps the common
 * ones; this catches the rest.
 */
function dataException(error: unknown): CyberneticError | undefined {
  const e = error as PgLikeError | null;
  if (
    e === null ||
    typeof e !== "object" ||
    typeof e.code !== "string" ||
    typeof e.severity !== "string" ||
    !e.code.startsWith("22")
  ) {
    return undefined;
  }
  return new CyberneticError("validation_failed", `invalid value: ${String(e.message ?? e.code)}`, {
    details: { issues: [{ path: typeof e.column === "string" ? e.column : "", message: String(e.message) }] },
    cause: error,
  });
}

/** Context for logging a mapped error. */
export interface ErrorContext {
  requestId: string;
  method: string;
  route: string;
  tenantId: string | undefined;
}

/**
 * The one place errors become HTTP responses: a `CyberneticError` gets its catalog status and
 * `{ error: { code, message, details? }, requestId }`; anything unexpected is logged with its stack and
 * answered 500 with the request id only.
 *
 * @example
 * ```ts
 * const reply = mapError(new CyberneticError("not_found", "episode 1 not found"), ctx, logger); // 404
 * ```
 */
export function mapError(error: unknown, context: ErrorContext, logger: Logger): Reply {
  let known: CyberneticError | undefined;
  if (CyberneticError.isInstance(error)) known = error;
  else if (HTTPError.isError(error) && error.status < 500) {
    // h3's own refusals (e.g. a malformed percent-encoded path): keep the status, use our shape.
    known = new CyberneticError(error.status === 404 ? "not_found" : "validation_failed", error.message, {
      status: error.status,
    });
  } else if (isConnectionError(error)) {
    // The database went away under a query that did not go through core's mapping (a pool query).
    known = databaseUnavailable(error);
  } else known = dataException(error);

  // A catalog error with a 5xx status other than 503 is still a server fault: its message may describe
  // internals, so it is logged and answered like any unexpected error.
  if (known === undefined || (known.status >= 500 && known.status !== 503)) {
    logger.error(
      {
        err: error,
        requestId: context.requestId,
        method: context.method,
        route: context.route,
        tenantId: context.tenantId,
      },
      "unhandled error",
    );
    const body: ErrorBody = {
      error: {
        code: "internal",
        message: `internal error; quote request id ${context.requestId} when reporting it`,
      },
      requestId: context.requestId,
    };
    return new Reply(500, body);
  }
  if (known.status >= 500) {
    // One line, no stack: during an outage every request says the same thing, and the reason is in it.
    logger.warn(
      { code: known.code, requestId: context.requestId, route: context.route, tenantId: context.tenantId },
      known.message,
    );
  }
  const headers: HeaderPair[] = [];
  if (known.headers)
    for (const [name, value] of Object.entries(known.headers)) headers.push([name.toLowerCase(), value]);
  const body: ErrorBody = { error: known.toJSON(), requestId: context.requestId };
  return new Reply(known.status, body, headers);
}
