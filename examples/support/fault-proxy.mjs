// A TCP proxy between a client and PostgreSQL that injects real network
// faults, for the tests and the benchmarks. Listens on 127.0.0.1.
import { connect, createServer } from 'node:net';

export class FaultProxy {
  #server;
  #mode = { type: 'pass' };
  #pairs = new Set();
  #port = 0;
  #accepted = 0;
  #target;

  constructor(target) {
    this.#target = target;
    this.#server = this.#newServer();
  }

  /** Starts a proxy in front of `{ host, port }`. */
  static async start(target) {
    const proxy = new FaultProxy(target);
    await proxy.#listen();
    return proxy;
  }

  get port() {
    return this.#port;
  }

  get mode() {
    return this.#mode;
  }

  /** Open client connections right now. */
  get connections() {
    return this.#pairs.size;
  }

  /** Client connections accepted since start. */
  get accepted() {
    return this.#accepted;
  }

  /** The same connection URL, pointed at the proxy. */
  url(target) {
    const u = new URL(target);
    u.hostname = '127.0.0.1';
    u.port = String(this.#port);
    return u.toString();
  }

  async set(mode) {
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

  async close() {
    for (const pair of this.#pairs) this.#reset(pair);
    this.#mode = { type: 'refuse' };
    if (this.#server.listening) await new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #newServer() {
    return createServer((client) => this.#accept(client));
  }

  async #listen() {
    await new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = this.#server.address().port;
  }

  #accept(client) {
    this.#accepted++;
    if (this.#mode.type === 'reset') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(this.#target.port, this.#target.host);
    const pair = { client, upstream };
    this.#pairs.add(pair);
    const drop = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    // Chunks held by 'slow-share' queue up behind each other: the stream keeps its order.
    const queued = { ready: Promise.resolve(), held: 0 };
    client.on('data', (chunk) => this.#forward(chunk, upstream, queued));
    upstream.on('data', (chunk) => this.#forward(chunk, client));
  }

  #forward(chunk, to, queued) {
    const mode = this.#mode;
    if (mode.type === 'blackhole') return;
    if (queued && (queued.held > 0 || (mode.type === 'slow-share' && Math.random() < mode.share))) {
      const ms = mode.type === 'slow-share' && queued.held === 0 ? mode.ms : 0;
      queued.held++;
      queued.ready = queued.ready
        .then(() => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : undefined))
        .then(() => {
          queued.held--;
          if (!to.destroyed) to.write(chunk);
        });
      return;
    }
    if (mode.type === 'latency') {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, mode.ms);
      return;
    }
    if (!to.destroyed) to.write(chunk);
  }

  #reset(pair) {
    this.#pairs.delete(pair);
    if (!pair.client.destroyed) pair.client.resetAndDestroy();
    pair.upstream.destroy();
  }
}
