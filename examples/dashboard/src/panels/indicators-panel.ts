/** The chosen unit's indicators: the latest triple index and its chart over time. */
import type { Indicator, Reading } from "@cybernetic/client";
import { indicatorChart } from "../chart.ts";
import { h, mount, percent } from "../dom.ts";

/** Renders one card per indicator. */
export function renderIndicators(
  root: HTMLElement,
  indicators: readonly Indicator[],
  readings: ReadonlyMap<string, readonly Reading[]>,
): void {
  const cards = indicators.map((indicator) => {
    const series = readings.get(indicator.id) ?? [];
    const latest = indicator.latest;
    const changes = series.filter((r) => r.status === "change").length;
    return h(
      "article",
      { class: "indicator", "data-indicator-id": indicator.id, "data-readings": series.length },
      h(
        "header",
        {},
        h("strong", {}, indicator.name),
        indicator.unitOfMeasure ? ` (${indicator.unitOfMeasure})` : "",
      ),
      h(
        "dl",
        { class: "triple" },
        h("dt", {}, "actuality"),
        h("dd", {}, latest ? String(latest.actuality) : "—"),
        h("dt", {}, "capability"),
        h("dd", {}, String(latest?.capability ?? indicator.capability)),
        h("dt", {}, "potentiality"),
        h("dd", {}, String(latest?.potentiality ?? indicator.potentiality)),
        h("dt", {}, "productivity"),
        h("dd", {}, percent(latest?.productivity)),
        h("dt", {}, "latency"),
        h("dd", {}, percent(latest?.latency)),
        h("dt", {}, "performance"),
        h("dd", {}, percent(latest?.performance)),
      ),
      indicatorChart(indicator, series),
      h(
        "p",
        { class: "legend" },
        h("span", { class: "key actuality" }, "actuality"),
        h("span", { class: "key capability" }, "capability"),
        h("span", { class: "key potentiality" }, "potentiality"),
        h("span", { class: "key productivity" }, "productivity"),
        h("span", { class: "key latency" }, "latency"),
        h("span", { class: "key performance" }, "performance"),
        changes
          ? h("span", { class: "key change" }, `${changes} significant change${changes === 1 ? "" : "s"}`)
          : null,
      ),
    );
  });
  mount(
    root,
    h("h3", {}, "Triple index"),
    ...(cards.length ? cards : [h("p", { class: "empty" }, "no indicators on this unit")]),
  );
}
