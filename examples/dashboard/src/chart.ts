/**
 * A small SVG chart of one indicator's triple index over time: actuality against capability and
 * potentiality (with the change detector's band), and below it productivity, latency and performance
 * (0..100 %). Readings the detector judged a significant change are marked on both.
 */
import type { Indicator, Reading } from "@cybernetic/client";
import { svg } from "./dom.ts";

const WIDTH = 560;
const TOP = { y: 8, height: 120 };
const BOTTOM = { y: 150, height: 70 };
const HEIGHT = 240;
const LEFT = 40;
const RIGHT = 8;

type Scale = (value: number) => number;

function linear(domain: [number, number], range: [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  return (value) => r0 + ((value - d0) / span) * (r1 - r0);
}

function path(points: [number, number][]): string {
  return points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`).join("");
}

/**
 * The chart of `readings` (in time order) of `indicator`.
 *
 * @example
 * ```ts
 * panel.append(indicatorChart(indicator, (await client.indicators.readings(unitId, indicator.id)).items));
 * ```
 */
export function indicatorChart(indicator: Indicator, readings: readonly Reading[]): SVGSVGElement {
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: "chart",
    role: "img",
    "aria-label": `${indicator.name}: triple index over time`,
  });
  if (readings.length === 0) {
    chart.append(
      svg(
        "text",
        { x: WIDTH / 2, y: HEIGHT / 2, class: "empty", "text-anchor": "middle" },
        "no readings yet",
      ),
    );
    return chart;
  }
  const times = readings.map((r) => Date.parse(r.at));
  const first = times[0] as number;
  const last = times.at(-1) as number;
  const x = linear([first, last === first ? first + 1 : last], [LEFT, WIDTH - RIGHT]);

  const values = readings.flatMap((r) => [
    r.actuality,
    r.capability,
    r.potentiality,
    ...(r.lower !== null ? [r.lower] : []),
    ...(r.upper !== null ? [r.upper] : []),
  ]);
  const max = Math.max(...values);
  const min = Math.min(0, ...values);
  const y = linear([min, max === min ? min + 1 : max * 1.05], [TOP.y + TOP.height, TOP.y]);
  const yIndex = linear([0, 1], [BOTTOM.y + BOTTOM.height, BOTTOM.y]);
  const at = (i: number) => x(times[i] as number);

  // Axes and labels.
  chart.append(
    svg("line", {
      x1: LEFT,
      y1: TOP.y + TOP.height,
      x2: WIDTH - RIGHT,
      y2: TOP.y + TOP.height,
      class: "axis",
    }),
    svg("line", {
      x1: LEFT,
      y1: BOTTOM.y + BOTTOM.height,
      x2: WIDTH - RIGHT,
      y2: BOTTOM.y + BOTTOM.height,
      class: "axis",
    }),
    svg("text", { x: LEFT - 4, y: TOP.y + 8, class: "tick", "text-anchor": "end" }, String(Math.round(max))),
    svg(
      "text",
      { x: LEFT - 4, y: TOP.y + TOP.height, class: "tick", "text-anchor": "end" },
      String(Math.round(min)),
    ),
    svg("text", { x: LEFT - 4, y: BOTTOM.y + 8, class: "tick", "text-anchor": "end" }, "100%"),
    svg("text", { x: LEFT - 4, y: BOTTOM.y + BOTTOM.height, class: "tick", "text-anchor": "end" }, "0"),
    svg("text", { x: LEFT, y: HEIGHT - 2, class: "tick" }, new Date(first).toLocaleString()),
    svg(
      "text",
      { x: WIDTH - RIGHT, y: HEIGHT - 2, class: "tick", "text-anchor": "end" },
      new Date(last).toLocaleString(),
    ),
  );

  // The detector's band, where it has one.
  const banded = readings.map((r, i) => ({ r, i })).filter(({ r }) => r.lower !== null && r.upper !== null);
  if (banded.length > 1) {
    const upper = banded.map(({ r, i }): [number, number] => [at(i), y(r.upper as number)]);
    const lower = banded.map(({ r, i }): [number, number] => [at(i), y(r.lower as number)]).reverse();
    chart.append(svg("path", { d: `${path([...upper, ...lower])}Z`, class: "band" }));
  }

  const series = (pick: (r: Reading) => number, scale: Scale, cls: string) =>
    svg("path", { d: path(readings.map((r, i) => [at(i), scale(pick(r))])), class: `line ${cls}` });
  chart.append(
    series((r) => r.potentiality, y, "potentiality"),
    series((r) => r.capability, y, "capability"),
    series((r) => r.actuality, y, "actuality"),
    series((r) => Math.min(1, r.latency), yIndex, "latency"),
    series((r) => Math.min(1, r.productivity), yIndex, "productivity"),
    series((r) => Math.min(1, r.performance), yIndex, "performance"),
  );

  // Significant changes: a line through both panels and a marker on actuality; outliers as rings.
  readings.forEach((r, i) => {
    if (r.status === "change") {
      chart.append(
        svg("line", {
          x1: at(i),
          y1: TOP.y,
          x2: at(i),
          y2: BOTTOM.y + BOTTOM.height,
          class: `change ${r.direction ?? ""}`,
        }),
        svg(
          "circle",
          {
            cx: at(i),
            cy: y(r.actuality),
            r: 4,
            class: `change-marker ${r.direction ?? ""}`,
            "data-change-at": r.at,
          },
          svg(
            "title",
            {},
            `significant change ${r.direction ?? ""} at ${new Date(r.at).toLocaleString()}: ${r.actuality}`,
          ),
        ),
      );
    } else if (r.status === "outlier") {
      chart.append(svg("circle", { cx: at(i), cy: y(r.actuality), r: 3, class: "outlier" }));
    }
  });
  return chart;
}
