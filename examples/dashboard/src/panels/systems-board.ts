/** The chosen unit's five systems as a live board: a summary of each state, its version, its last change. */
import type { SystemState } from "@cybernetic/client";
import { formatTime, h, mount } from "../dom.ts";

/** The first members of a state, as `key: value` lines (a state is free-form JSON). */
function summary(state: Record<string, unknown>): string[] {
  const entries = Object.entries(state);
  if (entries.length === 0) return ["(empty)"];
  const lines = entries.slice(0, 4).map(([key, value]) => {
    const text = typeof value === "string" ? value : JSON.stringify(value);
    return `${key}: ${text.length > 60 ? `${text.slice(0, 59)}…` : text}`;
  });
  if (entries.length > 4) lines.push(`… ${entries.length - 4} more`);
  return lines;
}

/**
 * Renders the board; systems in `changed` (just updated by a `system.state_changed` event) flash.
 */
export function renderSystems(
  root: HTMLElement,
  unitName: string | undefined,
  systems: ReadonlyMap<number, SystemState>,
  changed: ReadonlySet<number>,
): void {
  const cards = [1, 2, 3, 4, 5].map((n) => {
    const s = systems.get(n);
    return h(
      "article",
      {
        class: `system-card${changed.has(n) ? " flash" : ""}`,
        "data-system": n,
        "data-version": s?.version ?? "",
      },
      h("header", {}, h("strong", {}, `S${n}`), ` ${s?.name ?? ""}`),
      h("pre", { class: "state" }, ...(s ? summary(s.state).map((line) => `${line}\n`) : ["…"])),
      h(
        "footer",
        {},
        h("span", { class: "version" }, `v${s?.version ?? "?"}`),
        h("span", { class: "changed", title: "last change" }, formatTime(s?.updatedAt)),
      ),
    );
  });
  mount(
    root,
    h("h3", {}, unitName ? `Systems of ${unitName}` : "Systems"),
    h("div", { class: "board" }, ...cards),
  );
}
