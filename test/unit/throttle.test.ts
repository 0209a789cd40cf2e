import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConfigError, isConfigError } from '../../src/errors/errors.js';
import type { ThrottleNotifier } from '../../src/throttle/store-guard.js';
import {
  createThrottle,
  type Throttle,
  type ThrottleAdmission,
  type ThrottleOutcome,
} from '../../src/throttle/throttle.js';
import { normalizeIp, throttleKeys } from '../../src/throttle/throttle-keys.js';
import {
  type ThrottleOptions,
  throttleOptionsSchema,
} from '../../src/throttle/throttle-options.js';
import { throttleSchemaSql } from '../../src/throttle/throttle-schema.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

function recordingNotifier() {
  const calls: string[] = [];
  const notifier: ThrottleNotifier = {
    storeFailed: (store, message) => calls.push(`failed ${store}: ${message}`),
    storeRecovered: (store) => calls.push(`recovered ${store}`),
  };
  return { notifier, calls };
}

let throttle: Throttle;

function setup(options: ThrottleOptions = {}): Throttle {
  throttle = createThrottle(options, recordingNotifier().notifier);
  return throttle;
}

/** One attempt: admitted and settled with `outcome`, or refused. */
async function attempt(
  identifier: string,
  ip: string | undefined,
  outcome: ThrottleOutcome = 'failure',
): Promise<ThrottleAdmission> {
  const admission = await throttle.admit(identifier, ip);
  if (admission.admitted) await admission.settle(outcome);
  return admission;
}

/** Failed attempts until one is refused (at most `max`): how many got through, and the refusal. */
async function failUntilRefused(
  identifier: string,
  ip: (i: number) => string | undefined,
  max = 1000,
) {
  for (let i = 0; i < max; i++) {
    const admission = await attempt(identifier, ip(i));
    if (!admission.admitted) return { admitted: i, refusal: admission };
  }
  return { admitted: max, refusal: undefined };
}

const sameIp = () => '203.0.113.7';
const manyIps = (i: number) => `198.51.${Math.floor(i / 250)}.${i % 250}`;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  await throttle?.close();
  vi.useRealTimers();
});

describe('consecutive failures per identifier and IP', () => {
  it('lets exactly the limit through, then blocks the pair for blockMs, then lets it try again', async () => {
    setup();
    const { admitted, refusal } = await failUntilRefused('ada@example.com', sameIp);
    expect(admitted).toBe(10);
    expect(refusal).toEqual({ admitted: false, limit: 'consecutive', retryAfterMs: HOUR });

    // Refusals do not extend the block.
    await vi.advanceTimersByTimeAsync(HOUR / 2);
    expect(await attempt('ada@example.com', sameIp())).toMatchObject({ retryAfterMs: HOUR / 2 });
    // Another address, or another account from this address, is not blocked.
    expect((await attempt('ada@example.com', '192.0.2.1')).admitted).toBe(true);
    expect((await attempt('bob@example.com', sameIp())).admitted).toBe(true);

    await vi.advanceTimersByTimeAsync(HOUR / 2);
    expect((await failUntilRefused('ada@example.com', sameIp)).admitted).toBe(10);
  });

  it('is reset by a correct password', async () => {
    setup();
    for (let i = 0; i < 9; i++) await attempt('ada@example.com', sameIp());
    await attempt('ada@example.com', sameIp(), 'success');
    expect((await failUntilRefused('ada@example.com', sameIp)).admitted).toBe(10);
  });

  it('counts identifiers that differ only in case or Unicode form together', async () => {
    setup();
    const forms = ['Ada@Example.com', 'ada@example.com', 'ＡＤＡ@example.com', 'ADA@EXAMPLE.COM'];
    for (let i = 0; i < 10; i++) {
      expect((await attempt(forms[i % forms.length]!, sameIp())).admitted).toBe(true);
    }
    for (const form of forms) {
      expect(await attempt(form, sameIp())).toMatchObject({
        admitted: false,
        limit: 'consecutive',
      });
    }
  });

  it('does not apply without an IP address', async () => {
    setup();
    expect((await failUntilRefused('ada@example.com', () => undefined, 50)).admitted).toBe(50);
  });

  it('turned off with false', async () => {
    setup({ consecutive: false });
    expect((await failUntilRefused('ada@example.com', sameIp, 50)).admitted).toBe(50);
  });
});

describe('reserve, then settle', () => {
  it('cannot be overshot by concurrent attempts: the points in flight count', async () => {
    setup();
    const admissions = await Promise.all(
      Array.from({ length: 25 }, () => throttle.admit('ada@example.com', sameIp())),
    );
    const admitted = admissions.filter((a) => a.admitted);
    expect(admitted).toHaveLength(10);
    // Refused while the budget is full of attempts in flight: worth trying again soon.
    for (const refused of admissions.filter((a) => !a.admitted)) {
      expect(refused).toEqual({ admitted: false, limit: 'consecutive', retryAfterMs: 1000 });
    }
    await Promise.all(admitted.map((a) => a.admitted && a.settle('failure')));
    expect(await throttle.admit('ada@example.com', sameIp())).toEqual({
      admitted: false,
      limit: 'consecutive',
      retryAfterMs: HOUR,
    });
  });

  it('gives every point back on uncounted: an outage adds nothing to any count', async () => {
    setup({ consecutive: { limit: 3 }, ip: { limit: 3 }, account: { limit: 3 } });
    for (let i = 0; i < 20; i++) {
      expect((await attempt('ada@example.com', sameIp(), 'uncounted')).admitted).toBe(true);
    }
    expect((await failUntilRefused('ada@example.com', sameIp)).admitted).toBe(3);
  });

  it('gives back the ip and account points on success', async () => {
    setup({ consecutive: false, ip: { limit: 3 }, account: { limit: 3 } });
    for (let i = 0; i < 20; i++) await attempt('ada@example.com', sameIp(), 'success');
    expect((await failUntilRefused('ada@example.com', sameIp)).admitted).toBe(3);
  });

  it('takes nothing from the other limits when one refuses', async () => {
    setup({ consecutive: { limit: 2 }, ip: { limit: 5 } });
    await failUntilRefused('ada@example.com', sameIp);
    // Hammering the blocked pair costs the address nothing: 3 of its 5 are left.
    for (let i = 0; i < 50; i++) await attempt('ada@example.com', sameIp());
    const others = await failUntilRefused('other', sameIp);
    expect(others.refusal).toMatchObject({ limit: 'consecutive' });
    expect(others.admitted).toBe(2);
    expect(await attempt('third', sameIp())).toMatchObject({ admitted: true });
    expect(await attempt('fourth', sameIp())).toMatchObject({ admitted: false, limit: 'ip' });
  });

  it('settles once: a second settle does nothing', async () => {
    setup({ consecutive: { limit: 2 } });
    const admission = await throttle.admit('ada@example.com', sameIp());
    if (!admission.admitted) throw new Error('expected an admission');
    await admission.settle('failure');
    await admission.settle('failure');
    await admission.settle('uncounted');
    expect((await failUntilRefused('ada@example.com', sameIp)).admitted).toBe(1);
  });
});

describe('failures per IP address', () => {
  it('lets exactly the limit through in a day, across identifiers, then refuses until the window ends', async () => {
    setup();
    for (let i = 0; i < 100; i++) {
      expect((await attempt(`user${i}@example.com`, sameIp())).admitted).toBe(true);
    }
    await vi.advanceTimersByTimeAsync(HOUR);
    expect(await attempt('new@example.com', sameIp())).toEqual({
      admitted: false,
      limit: 'ip',
      retryAfterMs: DAY - HOUR,
    });
    // The IPv4-mapped form is the same address.
    expect(await attempt('new@example.com', `::ffff:${sameIp()}`)).toMatchObject({ limit: 'ip' });
    await vi.advanceTimersByTimeAsync(DAY - HOUR);
    expect((await attempt('new@example.com', sameIp())).admitted).toBe(true);
  });

  it('does not apply without an IP address', async () => {
    setup({ ip: { limit: 3 } });
    for (let i = 0; i < 20; i++) {
      expect((await attempt(`user${i}@example.com`, undefined)).admitted).toBe(true);
    }
  });
});

describe('failures per account, with a growing wait', () => {
  it('lets exactly the limit through from many addresses, then one attempt per wait, doubling up to the cap', async () => {
    setup({ account: { firstWaitMs: 60_000, maxWaitMs: 200_000 } });
    const { admitted, refusal } = await failUntilRefused('ada@example.com', manyIps);
    expect(admitted).toBe(100);
    expect(refusal).toEqual({ admitted: false, limit: 'account', retryAfterMs: 60_000 });

    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const wait = await attempt('ada@example.com', manyIps(1000 + i));
      if (wait.admitted) throw new Error('expected a wait');
      await vi.advanceTimersByTimeAsync(wait.retryAfterMs - 1);
      expect(await attempt('ada@example.com', manyIps(2000 + i))).toMatchObject({
        admitted: false,
        retryAfterMs: 1,
      });
      await vi.advanceTimersByTimeAsync(1);
      expect((await attempt('ada@example.com', manyIps(3000 + i))).admitted).toBe(true);
      waits.push(wait.retryAfterMs);
    }
    expect(waits).toEqual([60_000, 120_000, 200_000, 200_000]);
  });

  it('lets one of many concurrent attempts through per wait', async () => {
    setup({ account: { limit: 5 } });
    await failUntilRefused('ada@example.com', manyIps);
    await vi.advanceTimersByTimeAsync(60_000);
    const admissions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => throttle.admit('ada@example.com', manyIps(500 + i))),
    );
    expect(admissions.filter((a) => a.admitted)).toHaveLength(1);
    expect(admissions.filter((a) => !a.admitted)).toHaveLength(19);
  });

  it('after a wait, a correct password gets in and lifts the wait; an uncounted attempt keeps the wait as it was', async () => {
    setup({ account: { limit: 3 } });
    await failUntilRefused('ada@example.com', manyIps);
    await vi.advanceTimersByTimeAsync(60_000);
    expect((await attempt('ada@example.com', manyIps(100), 'uncounted')).admitted).toBe(true);
    expect((await attempt('ada@example.com', manyIps(101), 'success')).admitted).toBe(true);
    // Neither counted: the next failure opens the same 2-minute wait the first would have.
    expect((await attempt('ada@example.com', manyIps(102))).admitted).toBe(true);
    expect(await attempt('ada@example.com', manyIps(103))).toMatchObject({
      admitted: false,
      retryAfterMs: 120_000,
    });
  });

  it('refills the budget when the window ends', async () => {
    setup({ account: { limit: 3, windowMs: 600_000 } });
    expect((await failUntilRefused('ada@example.com', manyIps)).admitted).toBe(3);
    await vi.advanceTimersByTimeAsync(600_000);
    expect((await failUntilRefused('ada@example.com', manyIps)).admitted).toBe(3);
  });

  it('turned off with false', async () => {
    setup({ account: false });
    expect((await failUntilRefused('ada@example.com', manyIps, 300)).admitted).toBe(300);
  });
});

describe('keys', () => {
  it('are digests: no identifier nor address in them, short whatever the identifier, shared by case variants', () => {
    const keys = throttleKeys('Ada@Example.com', '2001:DB8::1');
    const all = [keys.account, keys.consecutive, keys.ip];
    for (const key of all) {
      expect(key).toMatch(/^[\w-]{43}$/);
      expect(key?.toLowerCase()).not.toContain('ada');
      expect(key?.toLowerCase()).not.toContain('2001');
    }
    expect(new Set(all).size).toBe(3);
    expect(throttleKeys('ada@example.com', '2001:db8::1')).toEqual(keys);
    expect(throttleKeys('x'.repeat(10_240), undefined).account).toHaveLength(43);
    expect(throttleKeys('ada@example.com', undefined)).toEqual({
      account: keys.account,
      consecutive: undefined,
      ip: undefined,
    });
    expect(throttleKeys('ada@example.com', '192.0.2.1').consecutive).not.toBe(
      throttleKeys('ada@example.com', '192.0.2.2').consecutive,
    );
  });
});

describe('options', () => {
  const configError = (options: unknown) => {
    try {
      createThrottle(options as ThrottleOptions, recordingNotifier().notifier);
    } catch (error) {
      if (isConfigError(error)) {
        // The zod error stays as the cause, for whoever needs every issue.
        expect(error.cause).toBeInstanceOf(z.ZodError);
        return { option: error.option, message: error.message };
      }
      throw error;
    }
    throw new Error('expected a ConfigError');
  };

  it.each([
    [{ consecutive: { limit: 0 } }, 'throttle.consecutive.limit', />=1/],
    [{ consecutive: true }, 'throttle.consecutive', /false \(off\) or an object/],
    [{ ip: { windowMs: 1500 } }, 'throttle.ip.windowMs', /whole seconds/],
    [
      { account: { firstWaitMs: 1_200_000 } },
      'throttle.account.firstWaitMs',
      /at least firstWaitMs/,
    ],
    [{ account: { maxWaitMs: 30_000 } }, 'throttle.account.maxWaitMs', /at least firstWaitMs/],
    [{ store: 'memory' }, 'throttle.store', /type: "postgres", pool/],
    [{ store: { type: 'mysql' } }, 'throttle.store.type', /type: "redis", client/],
    [{ store: { type: 'postgres' } }, 'throttle.store.pool', /pg pool/],
    [
      { store: { type: 'postgres', pool: { query() {} }, tableName: 'a"b' } },
      'throttle.store.tableName',
      /schema\.table/,
    ],
    [{ store: { type: 'redis', client: {} } }, 'throttle.store.client', /ioredis or node-redis/],
    [{ keyPrefix: '' }, 'throttle.keyPrefix', /1 to 64/],
    [{ storeTimeoutMs: 0 }, 'throttle.storeTimeoutMs', />=1/],
    [{ consecutiv: { limit: 3 } }, 'throttle', /consecutiv/],
  ])('%j is refused with a message naming the option', (options, option, message) => {
    const error = configError(options);
    expect(error.option).toBe(option);
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(`${option}: `)).toBe(true);
  });

  it('nests in a larger schema with paths under its key', () => {
    const outer = z.strictObject({ throttle: throttleOptionsSchema.optional() });
    const parsed = outer.safeParse({ throttle: { store: { type: 'postgres', pool: 42 } } });
    expect(parsed.error?.issues[0]?.path).toEqual(['throttle', 'store', 'pool']);
    expect(outer.safeParse({ throttle: {} }).success).toBe(true);
  });

  it('counts in memory by default', () => {
    expect(setup().store).toBe('memory');
  });
});

describe('throttleSchemaSql', () => {
  it('gives the DDL of the table, quoted, and refuses a name that is not an identifier', () => {
    expect(throttleSchemaSql()).toContain('CREATE TABLE IF NOT EXISTS "resilient_auth_throttle" (');
    expect(throttleSchemaSql({ tableName: 'auth.login_throttle' })).toContain(
      '"auth"."login_throttle"',
    );
    expect(() => throttleSchemaSql({ tableName: 'x; DROP TABLE users' })).toThrow(ConfigError);
  });
});

describe('client addresses in keys', () => {
  it('keys an address however it is written, and IPv6 by its /64', () => {
    expect(normalizeIp('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(normalizeIp('::FFFF:c000:0201')).toBe('192.0.2.1');
    expect(normalizeIp(' 192.0.2.1 ')).toBe('192.0.2.1');
    const net = '2001:db8:0:1::/64';
    for (const spelling of [
      '2001:DB8:0:1::1',
      '2001:db8::1:0:0:0:ffff',
      '2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd',
      '2001:db8:0:1::9%eth0',
    ]) {
      expect(normalizeIp(spelling)).toBe(net);
    }
    expect(normalizeIp('2001:db8:0:2::1')).toBe('2001:db8:0:2::/64');
    expect(normalizeIp('::1')).toBe('0:0:0:0::/64');
    expect(normalizeIp('not an address')).toBe('not an address');
  });

  it('makes one IPv6 /64 share the per-IP and consecutive counts', () => {
    const a = throttleKeys('ada@example.com', '2001:db8:0:1::1');
    const b = throttleKeys('ada@example.com', '2001:db8:0:1:ffff::42');
    const other = throttleKeys('ada@example.com', '2001:db8:0:2::1');
    expect([b.ip, b.consecutive]).toEqual([a.ip, a.consecutive]);
    expect(other.ip).not.toBe(a.ip);
  });
});
