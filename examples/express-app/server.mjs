// npm run example:express: the example app on an embedded PostgreSQL (or on DATABASE_URL).
// `--check` starts it, signs in over HTTP as a browser would, prints what it saw, and stops.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { applyReferenceSchema, hashPassword } from 'resilient-auth';
import { startEmbeddedPostgres } from '../support/embedded-postgres.mjs';
import { createApp } from './app.mjs';
import { createAuth } from './auth.mjs';

const EMAIL = 'ada@example.com';
const PASSWORD = 'correct horse battery staple';
const check = process.argv.includes('--check');

const server = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
const connectionString = process.env.DATABASE_URL ?? server.url;
const pool = new pg.Pool({ connectionString, max: 5 });
pool.on('error', () => undefined);
await applyReferenceSchema(pool);
await pool.query(
  'INSERT INTO users (email, password_hash) SELECT $1, $2 WHERE NOT EXISTS (SELECT 1 FROM users WHERE lower(email) = lower($1))',
  [EMAIL, await hashPassword(PASSWORD)],
);

const auth = createAuth({ pool, connectionString, alert: (line) => console.log(`ALERT ${line}`) });
const app = createApp({
  auth,
  sessionSecret: process.env.SESSION_SECRET ?? randomBytes(32).toString('hex'),
  secureCookies: process.env.NODE_ENV === 'production',
});
const http = app.listen(check ? 0 : Number(process.env.PORT ?? 3000));
await new Promise((resolve) => http.once('listening', resolve));
const base = `http://localhost:${http.address().port}`;

let stopping;
async function stop() {
  stopping ??= (async () => {
    await new Promise((resolve) => http.close(resolve));
    await auth.close();
    await pool.end();
    await server?.destroy();
  })();
  return stopping;
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

if (check) {
  try {
    await selfCheck();
  } finally {
    await stop();
  }
} else {
  console.log(`Example app on ${base}/login — sign in as ${EMAIL} / ${PASSWORD}`);
  console.log(`Health: ${base}/health/ready and ${base}/health/live. Ctrl-C stops.`);
}

/** What a browser does: a wrong password, the right one, the page behind; and what a probe sees. */
async function selfCheck() {
  const form = (password) =>
    fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: EMAIL, password }),
      redirect: 'manual',
    });
  const wrong = await form('wrong password');
  console.log(`POST /login, wrong password: ${wrong.status}`);
  const ok = await form(PASSWORD);
  const cookie = ok.headers.get('set-cookie')?.split(';')[0];
  console.log(`POST /login, right password: ${ok.status} -> ${ok.headers.get('location')}`);
  const home = await fetch(`${base}/`, { headers: { cookie }, redirect: 'manual' });
  const signedIn = (await home.text()).match(/Signed in as [^<]+/)?.[0];
  console.log(`GET / with the session cookie: ${home.status} "${signedIn}"`);
  const ready = await fetch(`${base}/health/ready`);
  console.log(
    `GET /health/ready: ${ready.status} ${ready.headers.get('content-type')} ${(await ready.json()).status}`,
  );
  const live = await fetch(`${base}/health/live`);
  console.log(`GET /health/live: ${live.status} ${(await live.json()).status}`);
  if (
    wrong.status !== 401 ||
    ok.status !== 303 ||
    home.status !== 200 ||
    !signedIn ||
    ready.status !== 200
  ) {
    process.exitCode = 1;
    console.error('example app check FAILED');
  }
}
