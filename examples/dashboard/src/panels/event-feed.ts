/** The live event feed: every event since the page opened (and the recent ones before), with topic filters. */
import type { CyberneticEvent } from "@cybernetic/client";
import { formatTime, h, mount } from "../dom.ts";

/** The categories a filter can hide (`<category>.<name>`). */
export const CATEGORIES = [
  "algedonic",
  "episode",
  "system",
  "unit",
  "indicator",
  "policy",
  "audit",
  "notification",
  "artifact",
  "telegram",
  "custom",
] as const;

const MAX_EVENTS = 500;

/** A short description of an event's data. */
function describe(event: CyberneticEvent): string {
  switch (event.type) {
    case "episode.created":
      return event.data.title;
    case "episode.analyzed":
      return `${event.data.title}: risk ${event.data.risk ?? "?"}, ${event.data.sentiment ?? "?"}`;
    case "system.state_changed":
      return `S${event.data.system} v${event.data.previousVersion} → v${event.data.version}`;
    case "algedonic.alert":
      return `${event.data.severity}: ${event.data.message}`;
    case "algedonic.escalated":
      return `step ${event.data.step}: ${event.data.message}`;
    default: {
      const text = JSON.stringify(event.data);
      return text.length > 120 ? `${text.slice(0, 119)}…` : text;
    }
  }
}

/** The feed's events (newest first, at most 500) and which categories are shown. */
export class EventFeed {
  private readonly events = new Map<string, CyberneticEvent>();
  private readonly hidden = new Set<string>();

  constructor(
    private readonly root: HTMLElement,
    filters: HTMLElement,
    /** The stream's starting cursor: every event after it must be in the feed. */
    since: string,
  ) {
    root.dataset.since = since;
    mount(
      filters,
      ...CATEGORIES.map((category) =>
        h(
          "label",
          { class: `filter ${category}` },
          h("input", {
            type: "checkbox",
            checked: true,
            name: "topic",
            value: category,
            onchange: (e: Event) => {
              if ((e.target as HTMLInputElement).checked) this.hidden.delete(category);
              else this.hidden.add(category);
              this.render();
            },
          }),
          ` ${category}`,
        ),
      ),
    );
  }

  /** Adds events (an event already shown is not shown twice). */
  add(...events: CyberneticEvent[]): void {
    for (const event of events) this.events.set(event.id, event);
    if (this.events.size > MAX_EVENTS) {
      const oldest = [...this.events.keys()]
        .sort((a, b) => compareIds(a, b))
        .slice(0, this.events.size - MAX_EVENTS);
      for (const id of oldest) this.events.delete(id);
    }
    this.render();
  }

  private render(): void {
    const shown = [...this.events.values()]
      .filter((e) => !this.hidden.has(e.type.split(".")[0] ?? ""))
      .sort((a, b) => compareIds(b.id, a.id));
    mount(
      this.root,
      ...shown.map((e) =>
        h(
          "li",
          {
            class: `event ${e.type.split(".")[0]}${e.type.startsWith("algedonic.") ? " algedonic" : ""}`,
            "data-event-id": e.id,
            "data-type": e.type,
          },
          h("span", { class: "id" }, `#${e.id}`),
          h("span", { class: "type" }, e.type),
          h("span", { class: "at" }, formatTime(e.occurredAt)),
          h("span", { class: "what" }, describe(e)),
        ),
      ),
    );
  }
}

/** Event ids are decimal strings of a bigint sequence. */
function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}
