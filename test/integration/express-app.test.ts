import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../examples/express-app/app.mjs';
import { createAuth } from '../../examples/express-app/auth.mjs';
import { applyReferenceSchema, hashPassword } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

// The example app users copy (npm run example:express), driven as a browser drives it.
const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';
let db: TestDatabase;
let app: ReturnType<typeof createApp>;
let auth: ReturnType<typeof createAuth>;
const alerts: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase('express_app');
  await applyReferenceSchema(db.pool);
  await db.pool.query('INSERT INTO users (email, password_hash) VALUES ($1, $2)', [
    EMAIL,
    await hashPassword(PASSWORD, 4),
  ]);
  auth = createAuth({
    pool: db.pool,
    connectionString: db.url,
    alert: (line) => alerts.push(line),
  });
  app = createApp({ auth, sessionSecret: 'test-secret' });
});
afterAll(async () => {
  await auth?.close();
  await db?.drop();
});

const signIn = (agent: ReturnType<typeof request.agent>, password: string, email = EMAIL) =>
  agent.post('/login').type('form').send({ email, password });

describe('examples/express-app', () => {
  it('shows the form, refuses a wrong password on it, signs in, shows the page behind it and signs out', async () => {
    const browser = request.agent(app);
    expect((await browser.get('/')).headers.location).toBe('/login');
    expect((await browser.get('/login')).text).toContain('<form method="post" action="/login">');
    const wrong = await signIn(browser, 'wrong password');
    expect(wrong.status).toBe(401);
    expect(wrong.text).toContain('Invalid identifier or password.');
    expect(wrong.text).toContain(`value="${EMAIL}"`);
    const ok = await signIn(browser, PASSWORD);
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe('/');
    expect((await browser.get('/')).text).toContain(`Signed in as ${EMAIL}`);
    await browser.post('/logout').expect(303);
    expect((await browser.get('/')).headers.location).toBe('/login');
  });

  it('gives a new session id at login (no session fixation)', async () => {
    const browser = request.agent(app);
    await signIn(browser, 'wrong password');
    const before = (await browser.get('/login')).headers['set-cookie'];
    const after = (await signIn(browser, PASSWORD)).headers['set-cookie']?.[0]?.split(';')[0];
    expect(after).toMatch(/^connect\.sid=/);
    expect(before?.[0]?.split(';')[0]).not.toBe(after);
  });

  it('an ORM model that drifted from the table: still signs in through raw SQL, says warn, and alerts', async () => {
    await db.pool.query('ALTER TABLE users RENAME COLUMN must_change_password TO must_rotate');
    try {
      await signIn(request.agent(app), PASSWORD).expect(303);
      const ready = await request(app).get('/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.headers['content-type']).toMatch(/^application\/health\+json/);
      expect(ready.body.status).toBe('warn');
      expect(
        alerts.some((line) => line.startsWith('login degraded: served by raw-sql (orm 42703)')),
      ).toBe(true);
    } finally {
      await db.pool.query('ALTER TABLE users RENAME COLUMN must_rotate TO must_change_password');
    }
    await signIn(request.agent(app), PASSWORD).expect(303);
    expect((await request(app).get('/health/ready')).body.status).toBe('pass');
  });

  it('no path can read the table: the form says try again shortly, with 503 and Retry-After, and names nothing inside', async () => {
    await db.pool.query('ALTER TABLE users RENAME TO users_gone');
    try {
      const answer = await signIn(request.agent(app), PASSWORD);
      expect(answer.status).toBe(503);
      expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      expect(answer.text).toContain('Login is temporarily unavailable. Try again shortly.');
      expect(answer.text).not.toMatch(/\busers|42P01|\borm\b|raw-sql|own-pool/);
      expect((await request(app).get('/health/live')).status).toBe(200);
    } finally {
      await db.pool.query('ALTER TABLE users_gone RENAME TO users');
    }
  });
});
