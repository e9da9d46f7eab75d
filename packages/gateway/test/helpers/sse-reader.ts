/**
 * A minimal, strict SSE reader over `node:http` for the gateway's tests: it keeps every frame (events,
 * comments, `retry:`) so tests can check the wire format itself, and it can stop reading (slow consumer).
 * The independent clients are the `eventsource` package and @cybernetic/client.
 */
import { type IncomingMessage, request } from "node:http";

export interface Frame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comment?: string;
}

export interface SseStream {
  status: number;
  headers: IncomingMessage["headers"];
  /** Every frame so far, in order. */
  frames: Frame[];
  /** The events (frames with data), parsed. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read events by shape
  events(type?: string): { id?: string; event: string; data: any }[];
  /** Events received per type (always kept). */
  counts: Map<string, number>;
  /** The body, when the answer was not a stream (an error). */
  text(): string;
  ended: Promise<void>;
  /** Stops reading from the socket (the kernel buffers fill up; the server must cut us off). */
  pause(): void;
  close(): void;
}

export interface OpenOptions {
  key?: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  /** Keep only a count per event type, not the frames (for large volumes). */
  countOnly?: boolean;
}

/** Opens `GET /v1/events` and resolves once the response head has arrived. */
export function openStream(base: string, options: OpenOptions = {}): Promise<SseStream> {
  const url = new URL("/v1/events", base);
  for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = { accept: "text/event-stream", ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const frames: Frame[] = [];
      const counts = new Map<string, number>();
      let buffer = "";
      let raw = "";
      let endResolve: () => void = () => {};
      const ended = new Promise<void>((r) => {
        endResolve = r;
      });
      res.setEncoding("utf8");
      const isStream = String(res.headers["content-type"]).startsWith("text/event-stream");
      res.on("data", (chunk: string) => {
        if (!isStream) {
          raw += chunk;
          return;
        }
        buffer += chunk;
        for (let at = buffer.indexOf("\n\n"); at >= 0; at = buffer.indexOf("\n\n")) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const frame: Frame = {};
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) frame.comment = line.slice(1).trim();
            else {
              const colon = line.indexOf(":");
              const field = line.slice(0, colon) as keyof Frame;
              const value = line.slice(colon + 1).replace(/^ /, "");
              frame[field] = field === "data" && frame.data !== undefined ? `${frame.data}\n${value}` : value;
            }
          }
          if (frame.data !== undefined)
            counts.set(frame.event ?? "message", (counts.get(frame.event ?? "message") ?? 0) + 1);
          if (!options.countOnly || frame.event === "connected") frames.push(frame);
        }
      });
      res.on("end", () => endResolve());
      res.on("close", () => endResolve());
      res.on("error", () => endResolve());
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        frames,
        counts,
        events: (type) =>
          frames
            .filter((f) => f.data !== undefined && (type === undefined || f.event === type))
            .map((f) => ({ id: f.id, event: f.event ?? "message", data: JSON.parse(f.data as string) })),
        text: () => raw,
        ended,
        pause: () => {
          res.pause();
          (res.socket as { pause?: () => void } | null)?.pause?.();
        },
        close: () => {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.on("error", reject);
    req.end();
  });
}
