/** The unit tree, each unit with its viability: S1..S5 present (and alive) or missing, open alerts. */
import type { Unit, UnitViability } from "@cybernetic/client";
import { h, mount } from "../dom.ts";

/** What the tree shows and what it does on a click. */
export interface UnitsView {
  units: readonly Unit[];
  viability: ReadonlyMap<string, UnitViability>;
  selected: string | undefined;
  onSelect(unitId: string): void;
}

/** Renders the tree into `root`. */
export function renderUnits(root: HTMLElement, view: UnitsView): void {
  const rows = view.units.map((unit) => {
    const v = view.viability.get(unit.id);
    const systems = [1, 2, 3, 4, 5].map((n) => {
      const s = v?.systems.find((x) => x.system === n);
      const state = s === undefined ? "unknown" : !s.present ? "missing" : s.alive ? "alive" : "present";
      const why = s?.gaps.length ? `: ${s.gaps.join("; ")}` : "";
      return h(
        "span",
        {
          class: `sys ${state}`,
          title: `S${n} ${s?.name ?? ""} ${state}${why}`,
          "data-system": n,
          "data-state": state,
        },
        `S${n}`,
      );
    });
    const open = v?.openAlerts.length ?? 0;
    return h(
      "li",
      {
        class: `unit${unit.id === view.selected ? " selected" : ""}${v && !v.viable ? " not-viable" : ""}`,
        "data-unit-id": unit.id,
        "data-depth": unit.depth,
      },
      h(
        "button",
        { class: "unit-name", type: "button", onclick: () => view.onSelect(unit.id) },
        h("span", { class: `indent d${Math.min(unit.depth, 8)}` }),
        unit.name,
        h("small", {}, ` ${unit.slug}`),
      ),
      h("span", { class: "systems" }, ...systems),
      v
        ? h("span", { class: v.viable ? "viable yes" : "viable no" }, v.viable ? "viable" : "not viable")
        : null,
      open > 0 ? h("span", { class: "open-alerts", title: "open algedonic alerts" }, `⚠ ${open}`) : null,
    );
  });
  mount(root, rows.length ? h("ul", { class: "tree" }, ...rows) : h("p", { class: "empty" }, "no units"));
}
