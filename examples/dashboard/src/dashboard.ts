/**
 * The dashboard's state and its one event stream. It loads a snapshot (units and their viability, open
 * alerts, episodes, the chosen unit's systems and indicators), subscribes from the snapshot's cursor,
 * and keeps every panel current from the events: nothing is polled. The stream resumes by itself after
 * a dropped connection or a gateway restart (`Last-Event-ID`), so the feed has no gap; a `resync`
 * (the cursor was too old) reloads the snapshot.
 */
import type {
  Alert,
  CyberneticClient,
  CyberneticEvent,
  Episode,
  Indicator,
  Reading,
  StreamItem,
  SystemState,
  Unit,
  UnitViability,
} from "@cybernetic/client";
import { byId, h, mount } from "./dom.ts";
import { renderAlerts } from "./panels/alerts-panel.ts";
import { renderEpisodes, wireEpisodeForm } from "./panels/episodes-panel.ts";
import { EventFeed } from "./panels/event-feed.ts";
import { renderIndicators } from "./panels/indicators-panel.ts";
import { renderSystems } from "./panels/systems-board.ts";
import { renderUnits } from "./panels/units-panel.ts";

/** The connection as the page shows it. */
export type ConnectionState = "connecting" | "live" | "reconnecting" | "resynced";

/** What `startDashboard` returns. */
export interface RunningDashboard {
  stop(): void;
}

const MAX_READINGS = 1000;

/**
 * Loads the dashboard and keeps it live until `stop()`; `onUnauthorized` is called when the gateway
 * refuses the key (the stream ends with 401/403).
 */
export async function startDashboard(
  client: CyberneticClient,
  onUnauthorized: (message: string) => void,
): Promise<RunningDashboard> {
  const stop = new AbortController();
  let units: Unit[] = [];
  let viability = new Map<string, UnitViability>();
  let selected: string | undefined;
  let systems = new Map<number, SystemState>();
  const changed = new Set<number>();
  let indicators: Indicator[] = [];
  const readings = new Map<string, Reading[]>();
  let alerts: Alert[] = [];
  const episodes = new Map<string, Episode>();

  const unitName = (id: string) => units.find((u) => u.id === id)?.name ?? id.slice(0, 8);

  // Rendering.
  const draw = {
    units: () =>
      renderUnits(byId("units"), {
        units,
        viability,
        selected,
        onSelect: (id) => {
          selected = id;
          draw.units();
          void loadUnit();
        },
      }),
    systems: () => renderSystems(byId("systems"), selected && unitName(selected), systems, changed),
    indicators: () => renderIndicators(byId("indicators"), indicators, readings),
    alerts: () => {
      renderAlerts(byId("alerts"), {
        alerts,
        unitName,
        onAcknowledge: (alert) => act(() => client.alerts.acknowledge(alert.id, { by: "dashboard" })),
        onResolve: (alert) => act(() => client.alerts.resolve(alert.id, { by: "dashboard" })),
      });
      const raised = alerts.filter((a) => a.status === "raised" && a.severity === "pain");
      const alarm = byId("alarm");
      alarm.hidden = raised.length === 0;
      document.body.classList.toggle("alarm", raised.length > 0);
      const newest = [...raised].sort((a, b) => b.raisedAt.localeCompare(a.raisedAt))[0];
      mount(
        alarm,
        newest
          ? h(
              "strong",
              {},
              `⚠ ALGEDONIC ALERT at ${unitName(newest.levelUnitId)}: ${newest.message}`,
              raised.length > 1 ? ` (+${raised.length - 1} more)` : "",
            )
          : null,
      );
    },
    episodes: () => renderEpisodes(byId("episodes"), [...episodes.values()]),
  };
  const setConnection = (state: ConnectionState, detail = "") => {
    const badge = byId("connection");
    badge.dataset.state = state;
    badge.textContent = detail ? `${state} · ${detail}` : state;
  };
  const showError = (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    const box = byId("error");
    box.hidden = false;
    box.textContent = message;
  };
  const act = (fn: () => Promise<unknown>) => {
    fn()
      .then(() => reload.alerts())
      .catch(showError);
  };

  // Loading, coalesced: a burst of events reloads each part once.
  const coalesce = (fn: () => Promise<void>) => {
    let pending: Promise<void> | undefined;
    let again = false;
    const run = (): Promise<void> => {
      if (pending) {
        again = true;
        return pending;
      }
      pending = fn()
        .catch(showError)
        .finally(() => {
          pending = undefined;
          if (again) {
            again = false;
            void run();
          }
        });
      return pending;
    };
    return run;
  };
  const loadReadings = async (indicator: Indicator) => {
    if (!selected) return;
    const series: Reading[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page++) {
      const got = await client.indicators.readings(selected, indicator.id, {
        limit: MAX_READINGS,
        ...(cursor ? { cursor } : {}),
      });
      series.push(...got.items);
      cursor = got.nextCursor;
      if (!cursor) break;
    }
    readings.set(indicator.id, series.slice(-MAX_READINGS));
  };
  const reload = {
    tree: coalesce(async () => {
      const list = await client.units.list();
      units = list.items;
      const root = units.find((u) => u.parentId === null);
      if (root) viability = new Map((await client.units.viability(root.id)).units.map((u) => [u.unit.id, u]));
      if (!selected || !units.some((u) => u.id === selected)) selected = root?.id;
      draw.units();
    }),
    alerts: coalesce(async () => {
      const all: Alert[] = [];
      let cursor: string | undefined;
      for (let page = 0; page < 5; page++) {
        const got = await client.alerts.list({ status: "open", limit: 100, ...(cursor ? { cursor } : {}) });
        all.push(...got.items);
        cursor = got.nextCursor;
        if (!cursor) break;
      }
      alerts = all;
      draw.alerts();
    }),
    episodes: coalesce(async () => {
      const page = await client.episodes.list({ limit: 50 });
      episodes.clear();
      for (const e of page.items) episodes.set(e.id, e);
      draw.episodes();
    }),
    systems: coalesce(async () => {
      if (!selected) return;
      const list = await client.units.systems.list(selected);
      systems = new Map(list.items.map((s) => [s.system, s]));
      draw.systems();
    }),
    indicators: coalesce(async () => {
      if (!selected) return;
      indicators = (await client.indicators.list(selected)).items;
      readings.clear();
      await Promise.all(indicators.map(loadReadings));
      draw.indicators();
    }),
  };
  const loadUnit = () => Promise.all([reload.systems(), reload.indicators()]);
  const loadAll = async () => {
    await reload.tree();
    await Promise.all([reload.alerts(), reload.episodes(), loadUnit()]);
  };

  // One system changed: fetch just that one and let its card flash.
  const systemChanged = async (unitId: string, system: number) => {
    if (unitId !== selected) return;
    const state = await client.units.systems.get(unitId, system as SystemState["system"]);
    systems.set(system, state);
    changed.add(system);
    draw.systems();
    setTimeout(() => {
      changed.delete(system);
      draw.systems();
    }, 1500);
  };
  // Answers may arrive out of order (the create's answer after the event of its analysis): the newest wins.
  const upsertEpisode = (episode: Episode) => {
    const known = episodes.get(episode.id);
    if (!known || known.updatedAt <= episode.updatedAt) episodes.set(episode.id, episode);
    draw.episodes();
  };
  const episodeChanged = async (id: string) => upsertEpisode(await client.episodes.get(id));

  const apply = (event: CyberneticEvent) => {
    const category = event.type.split(".")[0];
    switch (event.type) {
      case "system.state_changed":
        void systemChanged(event.data.unitId, event.data.system).catch(showError);
        void reload.tree();
        return;
      case "episode.created":
      case "episode.analyzed":
      case "episode.failed":
        void episodeChanged(event.data.episodeId).catch(showError);
        return;
      case "indicator.created":
      case "indicator.updated":
      case "indicator.readings_recorded":
      case "indicator.change_detected":
        if (event.data.unitId === selected) void reload.indicators();
        void reload.tree();
        return;
    }
    if (category === "algedonic") {
      void reload.alerts();
      void reload.tree();
    } else if (category === "unit" || category === "audit" || category === "policy") void reload.tree();
  };

  // The snapshot, then the stream from the snapshot's cursor: nothing missed, nothing twice.
  setConnection("connecting");
  const start = await client.units.list();
  await loadAll();
  const feed = new EventFeed(byId("feed"), byId("feed-filters"), start.cursor);
  const recent = await client.events.list({ limit: 50 }).catch(() => ({ items: [] as CyberneticEvent[] }));
  feed.add(...recent.items);

  wireEpisodeForm(byId<HTMLFormElement>("episode-form"), async (report) => {
    const { episode } = await client.episodes.create(
      { title: report.title, content: report.content, tags: report.tags, source: "dashboard" },
      { idempotencyKey: crypto.randomUUID() },
    );
    upsertEpisode(episode);
  });

  const onItem = (item: StreamItem) => {
    if (item.type === "connected") setConnection("live");
    else if (item.type === "resync") {
      setConnection("resynced", "reloaded");
      void loadAll();
    } else if (item.type === "reconnecting") {
      setConnection("reconnecting", `retry in ${Math.max(1, Math.round(item.retryInMs / 1000))} s`);
    } else {
      feed.add(item);
      apply(item);
    }
  };
  void (async () => {
    try {
      for await (const item of client.events.subscribe({ after: start.cursor, signal: stop.signal }))
        onItem(item);
    } catch (error) {
      const status = (error as { status?: number }).status;
      if (status === 401 || status === 403) onUnauthorized((error as Error).message);
      else showError(error);
    }
  })();

  return { stop: () => stop.abort() };
}
