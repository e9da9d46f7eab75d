/**
 * A loopback TCP proxy in front of a real server that records what the client sent and can hold the
 * server's answers back. Tests use it to observe what is on the wire before any answer arrives (pipelining)
 * and to keep a real request in flight while something else happens (races), with no mock in between.
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net";

/** A loopback TCP proxy that records what the client sent and can hold the server's answers. */
export class HoldingProxy {
  readonly server: Server;
  /** Everything the client sent, as latin1 text (protocol framing included). */
  sent = "";
  private holding = false;
  private held: Array<{ socket: Socket; chunk: Buffer }> = [];
  private refusing = false;
  private readonly open = new Set<Socket>();

  /** Points the proxy at `target`; call `listen()` to get its port. */
  constructor(target: { host: string; port: number }) {
    this.server = createServer((client) => {
      if (this.refusing) {
        client.resetAndDestroy();
        return;
      }
      const upstream = tcpConnect(target.port, target.host);
      this.open.add(client).add(upstream);
      client.on("data", (chunk: Buffer) => {
        this.sent += chunk.toString("latin1");
        upstream.write(chunk);
      });
      upstream.on("data", (chunk: Buffer) => {
        if (this.holding) this.held.push({ socket: client, chunk });
        else client.write(chunk);
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.open.delete(client);
        this.open.delete(upstream);
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
  }

  /**
   * A proxy for the server of a postgres:// URL; `url` is the same URL through the proxy.
   */
  static async forUrl(url: string): Promise<{ proxy: HoldingProxy; url: string }> {
    const parsed = new URL(url);
    const proxy = new HoldingProxy({ host: parsed.hostname, port: Number(parsed.port || 5432) });
    parsed.port = String(await proxy.listen());
    return { proxy, url: parsed.toString() };
  }

  /** Listens on a free loopback port and returns it. */
  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    const address = this.server.address();
    if (!address || typeof address === "string") throw new Error("proxy has no port");
    return address.port;
  }

  /** Holds every answer from now on until `release()`. */
  hold(): void {
    this.holding = true;
  }

  /** Delivers what was held and lets answers through again. */
  release(): void {
    this.holding = false;
    for (const { socket, chunk } of this.held.splice(0)) socket.write(chunk);
  }

  /**
   * The database "goes away": every open connection is reset (its client sees ECONNRESET), and new ones
   * are refused until `restore()`, as in a failover.
   */
  cut(): void {
    this.refusing = true;
    for (const socket of this.open) socket.resetAndDestroy();
    this.open.clear();
  }

  /** Accepts connections again after `cut()`. */
  restore(): void {
    this.refusing = false;
  }

  /** Connections currently open through the proxy (both sides counted). */
  get openCount(): number {
    return this.open.size;
  }

  /** Stops listening (open connections end when their peers close). */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
