import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createThrottle, type Throttle } from '../../src/throttle/throttle.js';
import type { ThrottleOptions } from '../../src/throttle/throttle-options.js';
import {
  type RedisServer,
  redisServer,
  redisServerBinary,
  redisUnavailable,
} from '../support/redis-server.js';

const unavailable = redisUnavailable();
const clients: Redis[] = [];
const throttles: Throttle[] = [];

afterEach(async () => {
  await Promise.all(throttles.splice(0).map((t) => t.close()));
  for (const client of clients.splice(0)) client.disconnect();
});

/** An ioredis client that reconnects quickly and reports its errors to no one (the throttle hears them). */
async function connect(url: string): Promise<Redis> {
  const client = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
  client.on('error', () => undefined);
  clients.push(client);
  await new Promise((resolve) => client.once('ready', resolve));
  return client;
}

function open(client: Redis, options: Omit<ThrottleOptions, 'store'> = {}) {
  const events: string[] = [];
  const throttle = createThrottle(
    { ...options, store: { type: 'redis', client } },
    {
      storeFailed: (store, message) => events.push(`failed ${store}: ${message}`),
      storeRecovered: (store) => events.push(`recovered ${store}`),
    },
  );
  throttles.push(throttle);
  return { throttle, events };
}

/** Wrong passwords for one pair, one after the other across `across`: how many were let through. */
async function failures(across: readonly Throttle[], identifier: string, count: number) {
  let admitted = 0;
  for (let i = 0; i < count; i++) {
    const admission = await across[i % across.length]!.admit(identifier, '203.0.113.7');
    if (admission.admitted) {
      admitted++;
      await admission.settle('failure');
    }
  }
  return admitted;
}

describe.skipIf(unavailable)(
  `Redis store${unavailable ? ` (skipped: ${unavailable})` : ''}`,
  () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await redisServer();
    }, 20_000);
    afterAll(async () => {
      await server?.destroy();
    });

    it('shares the count between two throttles on two clients, and cuts a burst off at the limit', async () => {
      // About counting in Redis, not about a slow store: a burst on a busy machine may take long.
      const options = { keyPrefix: `shared-${Date.now()}`, storeTimeoutMs: 10_000 };
      const first = open(await connect(server.url), options);
      const second = open(await connect(server.url), options);
      expect(first.throttle.store).toBe('redis');
      expect(await failures([first.throttle, second.throttle], 'ada@example.com', 30)).toBe(10);

      const burst = await Promise.all(
        Array.from({ length: 300 }, (_, i) =>
          (i % 2 ? first : second).throttle.admit('bob@example.com', '203.0.113.7'),
        ),
      );
      expect(burst.filter((a) => a.admitted)).toHaveLength(10);
      expect([...first.events, ...second.events]).toEqual([]);
    });
  },
);

const needsOwn = redisServerBinary()
  ? undefined
  : 'stopping and starting Redis needs a redis-server binary on the PATH';

describe.skipIf(needsOwn)(
  `Redis stopped, then started again${needsOwn ? ` (skipped: ${needsOwn})` : ''}`,
  () => {
    it('keeps the limits from memory, never rejects, notifies once, and recovers', async () => {
      const server = await redisServer({ own: true });
      try {
        const { throttle, events } = open(await connect(server.url), { storeRetryMs: 100 });
        expect(await failures([throttle], 'ada@example.com', 3)).toBe(3);

        await server.stop();
        // ada carries on from the 3 failures this process saw; bob starts from nothing.
        expect(await failures([throttle], 'ada@example.com', 30)).toBe(7);
        expect(await failures([throttle], 'bob@example.com', 30)).toBe(10);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatch(/^failed redis: /);

        await server.start();
        await expect
          .poll(
            async () => {
              await failures([throttle], 'carol@example.com', 1);
              return events.length;
            },
            { timeout: 10_000, interval: 100 },
          )
          .toBe(2);
        expect(events[1]).toBe('recovered redis');
        // Redis is the reference again: it kept ada's 3 failures over the restart.
        expect(await failures([throttle], 'ada@example.com', 30)).toBe(7);
      } finally {
        await server.destroy();
      }
    });
  },
);
