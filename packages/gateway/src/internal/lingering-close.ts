/**
 * Lingering close, as nginx and Apache do it, for a response that closes its connection before the
 * request's body was read (a 413 on `Content-Length`, a chunked body or an upload cut off at the limit).
 *
 * Why: Node ends such a connection with `destroySoon()`: FIN once the response is flushed, then close.
 * Closing a socket with unread bytes in its receive buffer makes the kernel answer with a reset, and a
 * client still sending its body then sees `EPIPE`/`ECONNRESET` instead of the 413, often losing the
 * response it had already received (measured: 2 of 20 `fetch` uploads of 16 MB against a gateway in
 * another process). So for those connections the response is flushed and followed by FIN as before,
 * and what the client still sends is read and discarded until it closes its side (it does once it has
 * read the response) or `lingerMs` passes; only then is the socket destroyed.
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";

/** How long a connection may go on sending a refused body after its response, by default. */
export const DEFAULT_LINGER_MS = 2_000;

type Closable = Socket & { destroySoon?: () => void };

/**
 * Makes `socket` linger when Node closes it after a response while `current()`, the request it answered,
 * has not been read to its end. Other closes are untouched.
 *
 * @example
 * ```ts
 * server.on("connection", (socket) => lingerOnClose(socket, () => requests.get(socket)));
 * ```
 */
export function lingerOnClose(
  socket: Socket,
  current: () => IncomingMessage | undefined,
  lingerMs: number = DEFAULT_LINGER_MS,
): void {
  const closable = socket as Closable;
  const destroySoon = closable.destroySoon;
  if (typeof destroySoon !== "function") return;
  closable.destroySoon = function lingeringDestroySoon(this: Closable) {
    const req = current();
    if (req === undefined || req.complete || this.destroyed) {
      destroySoon.call(this);
      return;
    }
    // Keep pulling the rest off the wire (a reader that gave up may have paused it), then FIN; the socket
    // closes once the client ends its side, or at the deadline.
    req.on("data", discard);
    req.resume();
    this.end();
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once("close", () => clearTimeout(timer));
  };
}

function discard(): void {}
