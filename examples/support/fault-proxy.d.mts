/** What the proxy does to traffic. */
export type ProxyMode =
  | { readonly type: 'pass' }
  /** Stop listening: new connections get ECONNREFUSED; open ones carry on. */
  | { readonly type: 'refuse' }
  /** Reset every open connection (TCP RST) and every new one as it arrives. */
  | { readonly type: 'reset' }
  /** Forward, but hold every chunk this long in each direction. */
  | { readonly type: 'latency'; readonly ms: number }
  /**
   * A brownout: hold a random `share` of the chunks a client sends (its
   * queries, mostly) `ms` each, keeping their order; answers pass at once.
   */
  | { readonly type: 'slow-share'; readonly share: number; readonly ms: number }
  /** Accept and never answer: bytes in either direction are dropped. */
  | { readonly type: 'blackhole' };

/** A TCP proxy between a client and PostgreSQL that injects real network faults. */
export class FaultProxy {
  static start(target: { host: string; port: number }): Promise<FaultProxy>;
  readonly port: number;
  readonly mode: ProxyMode;
  /** Open client connections right now. */
  readonly connections: number;
  /** Client connections accepted since start. */
  readonly accepted: number;
  /** The same connection URL, pointed at the proxy. */
  url(target: string): string;
  set(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}
