/** Open algedonic alerts, with their escalation path and buttons to acknowledge and resolve them. */
import type { Alert } from "@cybernetic/client";
import { formatTime, h, mount } from "../dom.ts";

/** What the list shows and what its buttons do. */
export interface AlertsView {
  alerts: readonly Alert[];
  unitName(unitId: string): string;
  onAcknowledge(alert: Alert): void;
  onResolve(alert: Alert): void;
}

/** The units the alert climbed through, from where it was raised to where it is now. */
function escalationPath(alert: Alert, unitName: (id: string) => string) {
  const steps = [...alert.escalations].sort((a, b) => a.step - b.step);
  return h(
    "ol",
    { class: "escalation" },
    h("li", {}, unitName(alert.unitId), h("small", {}, ` raised ${formatTime(alert.raisedAt)}`)),
    ...steps.map((s) =>
      h("li", {}, unitName(s.toUnitId), h("small", {}, ` step ${s.step}, ${formatTime(s.at)}`)),
    ),
  );
}

/** Renders the open alerts, pain first. */
export function renderAlerts(root: HTMLElement, view: AlertsView): void {
  const sorted = [...view.alerts].sort(
    (a, b) =>
      Number(b.severity === "pain") - Number(a.severity === "pain") || b.raisedAt.localeCompare(a.raisedAt),
  );
  const items = sorted.map((alert) =>
    h(
      "li",
      {
        class: `alert ${alert.severity} ${alert.status}`,
        "data-alert-id": alert.id,
        "data-status": alert.status,
      },
      h(
        "header",
        {},
        h("strong", { class: "severity" }, alert.severity === "pain" ? "PAIN" : "pleasure"),
        ` ${alert.message}`,
      ),
      h(
        "p",
        { class: "where" },
        `at ${view.unitName(alert.levelUnitId)}`,
        alert.status === "acknowledged" && alert.acknowledgedBy
          ? ` · acknowledged by ${alert.acknowledgedBy.name ?? alert.acknowledgedBy.id}`
          : "",
        alert.nextEscalationAt && alert.status === "raised"
          ? ` · climbs next ${formatTime(alert.nextEscalationAt)}`
          : "",
      ),
      escalationPath(alert, view.unitName),
      h(
        "div",
        { class: "actions" },
        alert.status === "raised"
          ? h(
              "button",
              { type: "button", class: "ack", onclick: () => view.onAcknowledge(alert) },
              "Acknowledge",
            )
          : null,
        h("button", { type: "button", class: "resolve", onclick: () => view.onResolve(alert) }, "Resolve"),
      ),
    ),
  );
  mount(
    root,
    h("h3", {}, `Open alerts (${sorted.length})`),
    items.length ? h("ul", { class: "alerts" }, ...items) : h("p", { class: "empty" }, "no open alerts"),
  );
}
