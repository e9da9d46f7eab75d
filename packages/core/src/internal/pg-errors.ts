import { databaseUnavailable, isConnectionError } from "../database-errors.js";
import { CyberneticError } from "../errors.js";

interface PgError {
  code?: string;
  constraint?: string;
  detail?: string;
  column?: string;
  message?: string;
}

function isPgError(error: unknown): error is PgError {
  return typeof error === "object" && error !== null && typeof (error as PgError).code === "string";
}

/**
 * Turns the PostgreSQL errors a bad request can cause into catalog errors, so they reach the caller as a
 * 4xx naming the constraint instead of a 500, and connection failures into `unavailable` (503). Anything
 * else is returned unchanged.
 *
 * `messages` maps a constraint name to a friendlier message, e.g. `{ policies_tenant_id_name_key: "a
 * policy with this name exists" }`.
 */
export function mapPgError(error: unknown, messages: Record<string, string> = {}): unknown {
  if (CyberneticError.isInstance(error)) return error;
  // A lost, refused or shutting-down connection is the platform's 503 (with retry-after), not a 500.
  if (isConnectionError(error)) return databaseUnavailable(error);
  if (!isPgError(error)) return error;
  const constraint = error.constraint ?? "";
  const friendly = messages[constraint];
  switch (error.code) {
    case "23505": // unique_violation
      return new CyberneticError("duplicate", friendly ?? `duplicate value violates ${constraint}`, {
        details: { constraint },
        cause: error,
      });
    case "23514": // check_violation
    case "23502": // not_null_violation
    case "22001": // string_data_right_truncation
    case "22P02": // invalid_text_representation
    case "22023": // invalid_parameter_value
    case "22007": // invalid_datetime_format
    case "22008": // datetime_field_overflow
    case "22003": // numeric_value_out_of_range
      return new CyberneticError(
        "validation_failed",
        friendly ?? `invalid value: ${error.message ?? constraint}`,
        {
          details: { constraint: constraint || undefined, column: error.column },
          cause: error,
        },
      );
    case "23503": // foreign_key_violation
      return new CyberneticError("not_found", friendly ?? "a referenced record does not exist", {
        details: { constraint },
        cause: error,
      });
    case "42501": // insufficient_privilege, including a row-level security violation
      return new CyberneticError("forbidden", "not allowed for this tenant", { cause: error });
    case "57014": // query_canceled (statement_timeout)
      return new CyberneticError("unavailable", "the database took too long to answer", { cause: error });
    default:
      return error;
  }
}
