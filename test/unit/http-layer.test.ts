import { describe, expect, it } from 'vitest';
import { assertHealthSource } from '../../src/http/adapter-options.js';
import { forwardedClientIp } from '../../src/http/forwarded-for.js';
import { toError } from '../../src/http/to-error.js';
import {
  AuthHttpError,
  authenticateBody,
  type HealthSource,
  healthResponse,
  isConfigError,
  ResilientAuthError,
  refusalError,
  requestContext,
  retryAfterSeconds,
} from '../../src/index.js';
import { thrownBy } from '../support/fakes.js';

// The framework-free pieces every adapter is built on, one by one.

describe('forwardedClientIp', () => {
  const chain = 'client-says, 198.51.100.1, 10.0.0.2';
  it.each([
    [false, undefined],
    [0, undefined],
    [true, '10.0.0.2'],
    [1, '10.0.0.2'],
    [2, '198.51.100.1'],
    [3, 'client-says'],
    [9, 'client-says'],
  ] as const)('trustProxy %s -> %s', (trustProxy, ip) => {
    expect(forwardedClientIp(chain, trustProxy)).toBe(ip);
  });

  it('no header, or entries left empty by stray commas, are not addresses', () => {
    expect(forwardedClientIp(undefined, true)).toBeUndefined();
    expect(forwardedClientIp(null, 2)).toBeUndefined();
    expect(forwardedClientIp(' 203.0.113.9 ,, ', true)).toBe('203.0.113.9');
  });
});

describe('AuthHttpError', () => {
  it('a refusal is LOGIN_REFUSED and exposed; a 503 is AUTH_UNAVAILABLE and not exposed', () => {
    const refused = refusalError({ ok: false, reason: 'invalid_credentials' });
    expect(refused).toMatchObject({
      code: 'LOGIN_REFUSED',
      status: 401,
      expose: true,
      headers: {},
    });
    const down = new AuthHttpError(503, { error: 'unavailable', message: 'm' }, {});
    expect(down).toMatchObject({ code: 'AUTH_UNAVAILABLE', expose: false, name: 'AuthHttpError' });
    expect(down).toBeInstanceOf(ResilientAuthError);
  });

  it('invalid_input names the configured field, or context', () => {
    const fields = { identifierField: 'login', passwordField: 'secret' };
    const name = (field: 'identifier' | 'password' | 'context') =>
      refusalError({ ok: false, reason: 'invalid_input', field }, fields).body;
    expect(name('identifier')).toEqual({
      error: 'invalid_input',
      message: 'Invalid login.',
      field: 'login',
    });
    expect(name('password')).toMatchObject({ field: 'secret' });
    expect(name('context')).toMatchObject({ field: 'context' });
  });

  it('Retry-After is whole seconds rounded up, at least 1, at most 2^31 - 1', () => {
    expect(retryAfterSeconds(1)).toBe('1');
    expect(retryAfterSeconds(1001)).toBe('2');
    expect(retryAfterSeconds(0)).toBe('1');
    expect(retryAfterSeconds(Number.MAX_SAFE_INTEGER)).toBe('2147483647');
    expect(retryAfterSeconds(Number.POSITIVE_INFINITY)).toBe('2147483647');
  });
});

describe('authenticateBody and errors that are not outcomes', () => {
  const throwing = (error: unknown) => ({ authenticate: () => Promise.reject(error) });
  const body = { identifier: 'ada@example.com', password: 'pw' };

  it('CLOSED (the app is shutting down) is a 503 with Retry-After', async () => {
    const outcome = await authenticateBody(
      throwing(new ResilientAuthError('CLOSED', 'closed')),
      body,
    );
    expect(outcome).toMatchObject({
      ok: false,
      error: { status: 503, headers: { 'retry-after': '1' } },
    });
  });

  it('any other error is thrown: a bug for the framework to answer with 500', async () => {
    const config = new ResilientAuthError('CONFIG_INVALID', 'bad');
    await expect(authenticateBody(throwing(config), body)).rejects.toBe(config);
    const plain = new Error('boom');
    await expect(authenticateBody(throwing(plain), body)).rejects.toBe(plain);
  });
});

describe('requestContext', () => {
  it('keeps the three known values, drops empty and absent ones, cuts long ones', () => {
    expect(requestContext({ ip: '', userAgent: 'ua', requestId: undefined })).toEqual({
      userAgent: 'ua',
    });
    expect(requestContext({ requestId: 'r'.repeat(5000) }).requestId).toHaveLength(2048);
  });
});

describe('toError', () => {
  it('keeps an error, turns a falsy throw into an Error carrying it', () => {
    const error = new Error('x');
    expect(toError(error)).toBe(error);
    const wrapped = toError(undefined) as Error;
    expect(wrapped).toBeInstanceOf(Error);
    expect(wrapped.message).toBe('Rejected with a falsy value');
    expect(toError(0)).toMatchObject({ cause: 0 });
  });
});

describe('assertHealthSource', () => {
  it.each([undefined, {}, { health: () => undefined }, { check: () => undefined }])(
    'refuses %o',
    (auth) => {
      const thrown = thrownBy(() => assertHealthSource('healthHandler', auth));
      expect(isConfigError(thrown) && thrown.option).toBe('healthHandler.auth');
    },
  );
});

describe('healthResponse details', () => {
  const source = (throttle: {
    store: 'memory' | 'postgres' | 'redis';
    storeOk: boolean;
  }): HealthSource => ({
    health: () => ({
      status: 'healthy',
      providers: [
        { name: 'primary', state: 'closed', lastSuccessAt: new Date(), lastLatencyMs: 1.23456 },
      ],
      throttle,
    }),
    check: () => Promise.reject(new Error('not called')),
  });

  it('a memory throttle is a component, a shared store a datastore; a store down warns and says so', async () => {
    const memory = await healthResponse(source({ store: 'memory', storeOk: true }));
    expect(memory.body.checks?.['throttle:status']).toEqual([
      { componentId: 'throttle', componentType: 'component', status: 'pass' },
    ]);
    expect(memory.body.status).toBe('pass');
    const down = await healthResponse(source({ store: 'redis', storeOk: false }));
    expect(down.body.checks?.['throttle:status']).toEqual([
      {
        componentId: 'throttle',
        componentType: 'datastore',
        status: 'warn',
        output: 'redis store down: counting in memory',
      },
    ]);
  });

  it('latency is in milliseconds with two decimals', async () => {
    const response = await healthResponse(source({ store: 'memory', storeOk: true }));
    expect(response.body.checks?.['primary:responseTime']?.[0]?.observedValue).toBe(1.23);
  });
});
