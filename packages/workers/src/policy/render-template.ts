/**
 * The policy template renderer: `{{event.type}}`, `{{event.data.title}}`, `{{episode.title}}`. Deliberately
 * tiny: a placeholder is a dotted path into a plain JSON context and nothing else. No expressions, no
 * helpers, no function calls, no prototype lookups, so a tenant's template can never run code or read
 * anything the context does not hold.
 */

/** Options of `renderTemplate`. */
export interface RenderTemplateOptions {
  /** Longest output, in characters; longer output is cut and ends with `…`. Default 4 000. */
  maxLength?: number;
  /** Longest rendering of one placeholder; longer values are cut and end with `…`. Default 1 000. */
  maxValueLength?: number;
}

// Identifier segments (`event`, `data`, `title_2`) or array indexes (`tags.0`), separated by dots.
const PATH = /^[A-Za-z_$][A-Za-z0-9_$-]*(?:\.[A-Za-z0-9_$-]+)*$/;
const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/**
 * Looks a dotted path up in a JSON value, following own properties only (so `constructor`,
 * `__proto__` and friends resolve to nothing). Returns `undefined` when any step is missing.
 *
 * @example
 * ```ts
 * lookupPath({ event: { data: { tags: ["a"] } } }, "event.data.tags.0"); // "a"
 * ```
 */
export function lookupPath(root: unknown, path: string): unknown {
  let current: unknown = root;
  for (const segment of path.split(".")) {
    if (current === null || typeof current !== "object") return undefined;
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]{0,8})$/.test(segment)) return undefined;
      current = current[Number(segment)];
      continue;
    }
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never split a surrogate pair.
  let end = Math.max(0, max - 1);
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

function stringify(value: unknown, max: number): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return cut(value, max);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  try {
    return cut(JSON.stringify(value) ?? "", max);
  } catch {
    return "";
  }
}

/**
 * Renders `{{path}}` placeholders from `context`. A path is dotted identifiers and array indexes;
 * strings render as they are, numbers and booleans as text, objects and arrays as JSON, and anything
 * missing (or a placeholder that is not a plain path) as the empty string. Output and each value are
 * length-capped.
 *
 * @example
 * ```ts
 * renderTemplate("High risk: {{episode.title}} ({{event.type}})", {
 *   event: { type: "episode.analyzed" }, episode: { title: "Line 3 stopped" },
 * }); // "High risk: Line 3 stopped (episode.analyzed)"
 * ```
 */
export function renderTemplate(
  template: string,
  context: unknown,
  options: RenderTemplateOptions = {},
): string {
  const maxLength = options.maxLength ?? 4_000;
  const maxValueLength = options.maxValueLength ?? 1_000;
  const rendered = template.replace(PLACEHOLDER, (_match, path: string) =>
    PATH.test(path) ? stringify(lookupPath(context, path), maxValueLength) : "",
  );
  return cut(rendered, maxLength);
}
