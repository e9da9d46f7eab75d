/**
 * Causation: which policy evaluation wrote an event, and how deep in a chain of policy-caused events it
 * sits. Every event a policy's actions write carries `data.causedBy`; evaluation stops at
 * `MAX_POLICY_DEPTH`, so a policy that reacts to its own output (or two that feed each other) cannot loop.
 */
import type { EventData } from "@cybernetic/core";

/** Where a policy-caused event came from. */
export interface Causation {
  /** The policy whose action wrote the event. */
  policyId: string;
  /** The event that policy was evaluating. */
  eventId: string;
  /** 1 for an event written while evaluating an event nobody's policy caused, then +1 per generation. */
  depth: number;
}

/**
 * Events at this depth or deeper are not evaluated (the outcome `loop_guard` is recorded instead): a
 * chain of policy-caused events is at most three generations long.
 */
export const MAX_POLICY_DEPTH = 3;

/**
 * Reads `data.causedBy` of an event; null when absent or malformed (the event is then a root, depth 0).
 * Events carry what their writer put there: a tenant's own custom event claiming a depth only affects
 * how that tenant's policies treat it.
 *
 * @example
 * ```ts
 * parseCausation({ causedBy: { policyId, eventId: "41", depth: 1 } }); // { policyId, eventId: "41", depth: 1 }
 * ```
 */
export function parseCausation(data: unknown): Causation | null {
  if (data === null || typeof data !== "object" || Array.isArray(data)) return null;
  const raw = (data as Record<string, unknown>).causedBy;
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) return null;
  const { policyId, eventId, depth } = raw as Record<string, unknown>;
  if (typeof policyId !== "string" || typeof eventId !== "string") return null;
  if (typeof depth !== "number" || !Number.isInteger(depth) || depth < 1 || depth > 1_000) return null;
  return { policyId, eventId, depth };
}

/** The causation to stamp on events written while evaluating an event at `parentDepth`. */
export function childCausation(policyId: string, eventId: string, parentDepth: number): Causation {
  return { policyId, eventId, depth: parentDepth + 1 };
}

/** A causation as JSON, for event data (`causedBy` of the event registry) and notification payloads. */
export function causationJson(causation: Causation): EventData<"policy.triggered">["causedBy"] {
  return { policyId: causation.policyId, eventId: causation.eventId, depth: causation.depth };
}
