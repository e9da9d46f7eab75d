/**
 * HTTP at the socket level, for what `fetch` cannot do: a request written byte by byte (slowloris), a
 * body that trickles in, and telling an answer apart from a reset connection.
 */
import { connect, type Socket } from "node:net";

/** What came back on a raw connection. */
export interface RawAnswer {
  /** The status of the first response, or undefined when none arrived. */
  status: number | undefined;
  /** Everything received, as latin1. */
  received: string;
  /** The socket error's code when the connection ended with one (ECONNRESET, EPIPE…). */
  error: string | undefined;
  /** `performance.now()` when the connection closed. */
  closedAt: number;
}

/** A raw connection to `base` (`http://host:port`). */
export function openRaw(base: string): {
  socket: Socket;
  connected: Promise<void>;
  done: Promise<RawAnswer>;
} {
  const url = new URL(base);
  const socket = connect(Number(url.port), url.hostname);
  let received = "";
  let error: string | undefined;
  socket.on("data", (chunk: Buffer) => {
    received += chunk.toString("latin1");
  });
  socket.on("error", (e: NodeJS.ErrnoException) => {
    error = e.code ?? e.message;
  });
  const connected = new Promise<void>((resolve, reject) => {
    socket.once("connect", () => resolve());
    socket.once("error", reject);
  });
  const done = new Promise<RawAnswer>((resolve) => {
    socket.once("close", () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(received);
      resolve({ status: match ? Number(match[1]) : undefined, received, error, closedAt: performance.now() });
    });
  });
  return { socket, connected, done };
}

/** Writes `data` and resolves once it is handed to the kernel. */
export function write(socket: Socket, data: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (error) => (error ? reject(error) : resolve()));
  });
}

/** A connected socket ready to send a GET: `send()` writes it whole at once; `done` follows the answer. */
export async function readyGet(
  base: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ send(): void; done: Promise<RawAnswer> }> {
  const { socket, connected, done } = openRaw(base);
  await connected;
  const head = Object.entries({ host: "localhost", connection: "close", ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join("");
  // A write to a connected socket is tried synchronously first: when `send()` returns the request is
  // in the kernel's buffer, on its way to the server.
  return { send: () => void socket.write(`GET ${path} HTTP/1.1\r\n${head}\r\n`), done };
}

/**
 * A PUT whose body of `size` bytes trickles in: `chunks` pieces, one every `intervalMs`. Resolves with the
 * server's answer (and the bytes sent, for comparing with what was stored).
 */
export async function slowPut(
  base: string,
  path: string,
  options: { key: string; size: number; chunks: number; intervalMs: number; fill: number },
): Promise<{ answer: RawAnswer; body: Buffer; started: number }> {
  const body = Buffer.alloc(options.size, options.fill);
  const { socket, connected, done } = openRaw(base);
  await connected;
  const started = performance.now();
  await write(
    socket,
    `PUT ${path} HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${options.key}\r\n` +
      `content-type: application/octet-stream\r\ncontent-length: ${options.size}\r\nconnection: close\r\n\r\n`,
  );
  const step = Math.ceil(options.size / options.chunks);
  for (let offset = 0; offset < options.size && !socket.destroyed; offset += step) {
    await new Promise((r) => setTimeout(r, options.intervalMs));
    await write(socket, body.subarray(offset, Math.min(options.size, offset + step))).catch(() => {});
  }
  return { answer: await done, body, started };
}

/** The JSON body of a raw answer (undefined when it has none). */
// biome-ignore lint/suspicious/noExplicitAny: bodies are read field by field
export function jsonOf(answer: RawAnswer): any {
  const at = answer.received.indexOf("\r\n\r\n");
  if (at < 0) return undefined;
  const head = answer.received.slice(0, at);
  let body = answer.received.slice(at + 4);
  if (/\r\ntransfer-encoding: chunked/i.test(head)) {
    let out = "";
    for (let rest = body; ; ) {
      const eol = rest.indexOf("\r\n");
      const size = Number.parseInt(rest.slice(0, eol), 16);
      if (!size) break;
      out += rest.slice(eol + 2, eol + 2 + size);
      rest = rest.slice(eol + 2 + size + 2);
    }
    body = out;
  }
  try {
    return JSON.parse(Buffer.from(body, "latin1").toString("utf8"));
  } catch {
    return undefined;
  }
}
