import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../../examples/support/embedded-postgres.mjs';

/** A Redis for one test file: a `redis-server` of its own, or the one `REDIS_URL` names. */
export interface RedisServer {
  readonly url: string;
  /** True for a server of its own, which `stop()` and `start()` can take down and bring back. */
  readonly own: boolean;
  /** Shuts it down (saving its data, which `start()` loads again). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it and removes its data; leaves a `REDIS_URL` server alone. */
  destroy(): Promise<void>;
}

/** The `redis-server` binary on the PATH (Debian installs it as /usr/bin/redis-server), if any. */
export function redisServerBinary(): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.map((dir) => join(dir, 'redis-server')).find((path) => existsSync(path));
}

/**
 * Why Redis tests cannot run here, or `undefined` when they can: they need
 * `REDIS_URL` or a `redis-server` binary.
 */
export function redisUnavailable(): string | undefined {
  return process.env.REDIS_URL || redisServerBinary()
    ? undefined
    : 'neither REDIS_URL nor a redis-server binary on the PATH';
}

/**
 * A server for the tests: `REDIS_URL` when set (and `own` is not required),
 * otherwise a real `redis-server` started on a free port in a temporary
 * directory. `own: true` insists on a server of its own, to stop and start.
 */
export async function redisServer(options: { own?: boolean } = {}): Promise<RedisServer> {
  const external = process.env.REDIS_URL;
  if (external && !options.own) {
    return {
      url: external,
      own: false,
      stop: () => Promise.reject(new Error('cannot stop the REDIS_URL server')),
      start: () => Promise.reject(new Error('cannot start the REDIS_URL server')),
      destroy: () => Promise.resolve(),
    };
  }
  const binary = redisServerBinary();
  if (binary === undefined) throw new Error('no redis-server binary on the PATH');
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'resilient-auth-redis-'));
  // Saves on shutdown, so that a stopped server comes back with its counts.
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '3600 1'];
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child === undefined) child = await spawnReady(binary, args);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (running === undefined || running.exitCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    own: true,
    stop,
    start,
    async destroy() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `redis-server` and resolves once it accepts connections. */
function spawnReady(binary: string, args: readonly string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const timer = setTimeout(
      () => fail(new Error(`redis-server not ready in 10 s:\n${output}`)),
      10_000,
    );
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`redis-server exited (${code}):\n${output}`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.removeAllListeners('error');
        child.stdout?.removeAllListeners('data').resume();
        child.stderr?.resume();
        resolve(child);
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
  });
}
