import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticateBody, isAuthHttpError } from '../../src/index.js';
import {
  expectedBody,
  expectNoInternals,
  FIELDS,
  type LoginFixture,
  MAPPING_CASES,
  PASSWORD,
  startLoginFixture,
} from '../support/login-fixture.js';

// The framework-free layer every adapter is built on, against real PostgreSQL.
let fx: LoginFixture;
beforeAll(async () => {
  fx = await startLoginFixture('http_login');
});
afterAll(() => fx?.close());

describe('authenticateBody: the mapping table', () => {
  it.each(MAPPING_CASES)('$row -> $status', async (c) => {
    const outcome = await authenticateBody(fx.auth, c.body, FIELDS);
    if (c.status === 200) {
      expect(outcome).toMatchObject({ ok: true, result: { user: { email: 'ada@example.com' } } });
      return;
    }
    expect(outcome.ok).toBe(false);
    if (outcome.ok) return;
    expect(outcome.error.status).toBe(c.status);
    expect(outcome.error.body).toEqual(expectedBody(c));
    expect(Object.keys(outcome.error.headers)).toEqual(c.retryAfter ? ['retry-after'] : []);
  });

  it('a body that is not an object is an empty form: 400 naming the identifier field', async () => {
    for (const body of [undefined, null, 'email=ada', [FIELDS.identifierField], 42]) {
      const outcome = await authenticateBody(fx.auth, body, FIELDS);
      expect(outcome).toMatchObject({
        ok: false,
        error: { status: 400, body: { field: 'email' } },
      });
    }
  });

  it("the app's own context is cut like the default: a 3 KB header never refuses a login", async () => {
    const outcome = await authenticateBody(
      fx.auth,
      { email: 'ada@example.com', password: PASSWORD },
      FIELDS,
      {
        userAgent: 'u'.repeat(3000),
      },
    );
    expect(outcome.ok).toBe(true);
  });

  it('inherited properties are not credentials', async () => {
    const body = Object.create({ email: 'ada@example.com', password: PASSWORD });
    const outcome = await authenticateBody(fx.auth, body, FIELDS);
    expect(outcome).toMatchObject({ ok: false, error: { status: 400 } });
  });

  it('every provider down: 503 with Retry-After, a generic body, the cause kept for the app log', async () => {
    await fx.allDown();
    try {
      const outcome = await authenticateBody(
        fx.auth,
        { email: 'ada@example.com', password: PASSWORD },
        FIELDS,
      );
      expect(outcome.ok).toBe(false);
      if (outcome.ok) return;
      const { error } = outcome;
      expect(isAuthHttpError(error)).toBe(true);
      expect(error).toMatchObject({
        status: 503,
        statusCode: 503,
        code: 'AUTH_UNAVAILABLE',
        expose: false,
      });
      expect(error.headers).toEqual({ 'retry-after': '1' });
      expect(error.retryAfterMs).toBe(1000);
      expect(error.body).toEqual({
        error: 'unavailable',
        message: 'Login is temporarily unavailable. Try again shortly.',
      });
      expectNoInternals(JSON.stringify(error.body) + error.message);
      expect((error.cause as { failures: unknown[] }).failures).toHaveLength(2);
    } finally {
      await fx.allUp();
    }
  });
});
