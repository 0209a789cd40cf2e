import { connect, createServer, type Server, type Socket } from 'node:net';

/** What the proxy does to traffic. */
export type ProxyMode =
  | { readonly type: 'pass' }
  /** Stop listening: new connections get ECONNREFUSED; open ones carry on. */
  | { readonly type: 'refuse' }
  /** Reset every open connection (TCP RST) and every new one as it arrives. */
  | { readonly type: 'reset' }
  /** Forward, but hold every chunk this long in each direction. */
  | { readonly type: 'latency'; readonly ms: number }
  /** Accept and never answer: bytes in either direction are dropped. */
  | { readonly type: 'blackhole' };

/**
 * A TCP proxy between a client and PostgreSQL that injects real network
 * faults. Listens on 127.0.0.1; `url(target)` rewrites a connection URL to go
 * through it.
 */
export class FaultProxy {
  #server: Server;
  #mode: ProxyMode = { type: 'pass' };
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>();
  #port = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.#server = this.#newServer();
  }

  /** Starts a proxy in front of `host:port`. */
  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(target.host, target.port);
    await proxy.#listen();
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** Open client connections right now. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** The same URL, pointed at the proxy. */
  url(target: string): string {
    const u = new URL(target);
    u.hostname = '127.0.0.1';
    u.port = String(this.#port);
    return u.toString();
  }

  async set(mode: ProxyMode): Promise<void> {
    const wasListening = this.#server.listening;
    this.#mode = mode;
    if (mode.type === 'refuse' && wasListening) {
      // Stops listening at once; close()'s callback would wait for open connections.
      this.#server.close();
      this.#server = this.#newServer();
    } else if (mode.type !== 'refuse' && !wasListening) {
      await this.#listen();
    }
    if (mode.type === 'reset') {
      for (const pair of this.#pairs) this.#reset(pair);
    }
  }

  async close(): Promise<void> {
    for (const pair of this.#pairs) this.#reset(pair);
    if (this.#server.listening)
      await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #newServer(): Server {
    return createServer((client) => this.#accept(client));
  }

  async #listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    const address = this.#server.address();
    if (address && typeof address === 'object') this.#port = address.port;
  }

  #accept(client: Socket): void {
    if (this.#mode.type === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.targetPort, this.targetHost);
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const drop = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.on('data', (chunk) => this.#forward(chunk, upstream));
    upstream.on('data', (chunk) => this.#forward(chunk, client));
  }

  #forward(chunk: Buffer, to: Socket): void {
    const mode = this.#mode;
    if (mode.type === 'blackhole') return;
    if (mode.type === 'latency') {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, mode.ms);
      return;
    }
    if (!to.destroyed) to.write(chunk);
  }

  #reset(pair: { client: Socket; upstream: Socket }): void {
    this.#pairs.delete(pair);
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    pair.upstream.destroy();
  }
}
