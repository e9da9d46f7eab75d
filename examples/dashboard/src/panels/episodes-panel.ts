/** Episodes with S4's analysis (summary, sentiment, systems, risk), and the form to report one. */
import type { Episode, EpisodeAnalysis } from "@cybernetic/client";
import { formatTime, h, mount } from "../dom.ts";

const STATUS_LABEL: Record<Episode["status"], string> = {
  pending: "pending",
  analyzing: "analysing",
  complete: "analysed",
  failed: "failed",
};

/** The analysis of a complete episode, read by shape (the API types it as a JSON object). */
function analysisOf(episode: Episode): EpisodeAnalysis | undefined {
  const a = episode.analysis as Partial<EpisodeAnalysis> | null;
  return a && typeof a.summary === "string" && a.sentiment && a.risk ? (a as EpisodeAnalysis) : undefined;
}

function analysisView(episode: Episode) {
  const a = analysisOf(episode);
  if (!a) return episode.error ? h("p", { class: "error" }, episode.error) : null;
  return h(
    "div",
    { class: "analysis" },
    h("p", { class: "summary" }, a.summary),
    h(
      "p",
      { class: "facts" },
      h(
        "span",
        { class: `sentiment ${a.sentiment.label}` },
        `sentiment ${a.sentiment.label} (${a.sentiment.score.toFixed(2)})`,
      ),
      h("span", { class: "systems" }, ...a.systems.map((n) => h("span", { class: "sys alive" }, `S${n}`))),
      h("span", { class: `risk ${a.risk.level}`, title: a.risk.reasons.join("; ") }, `risk ${a.risk.level}`),
    ),
  );
}

/** Renders the list, newest first. */
export function renderEpisodes(root: HTMLElement, episodes: readonly Episode[]): void {
  const sorted = [...episodes].sort((a, b) => b.createdAt.localeCompare(a.createdAt)).slice(0, 50);
  const items = sorted.map((e) =>
    h(
      "li",
      { class: `episode ${e.status}`, "data-episode-id": e.id, "data-status": e.status },
      h(
        "header",
        {},
        h("strong", {}, e.title),
        h("span", { class: `status ${e.status}` }, STATUS_LABEL[e.status]),
        h("small", {}, ` ${e.source} · ${formatTime(e.createdAt)}`),
      ),
      analysisView(e),
    ),
  );
  mount(
    root,
    items.length ? h("ul", { class: "episodes" }, ...items) : h("p", { class: "empty" }, "no episodes yet"),
  );
}

/** What the report form sends. */
export interface EpisodeReport {
  title: string;
  content: string;
  tags: string[];
}

/** Wires the report form: `onReport` gets the fields; the form is cleared when it resolves. */
export function wireEpisodeForm(
  form: HTMLFormElement,
  onReport: (report: EpisodeReport) => Promise<void>,
): void {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const report = {
      title: String(data.get("title") ?? "").trim(),
      content: String(data.get("content") ?? "").trim(),
      tags: String(data.get("tags") ?? "")
        .split(",")
        .map((t) => t.trim())
        .filter(Boolean),
    };
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    onReport(report)
      .then(() => form.reset())
      .finally(() => {
        if (button) button.disabled = false;
      });
  });
}
