import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import { type Context, Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { AuthUnavailableError, isConfigError } from '../../src/errors/errors.js';
import {
  type HonoLoginOptions,
  healthHandler,
  isAuthHttpError,
  login,
} from '../../src/hono/index.js';
import type { AttemptEvent } from '../../src/hooks/events.js';
import type { AuthSuccess } from '../../src/orchestrator/result.js';
import type { ContractUser } from '../contract/provider-contract.js';
import { thrownBy } from '../support/fakes.js';
import {
  expectedBody,
  expectNoInternals,
  FIELDS,
  type LoginFixture,
  MAPPING_CASES,
  MESSAGES,
  PASSWORD,
  startLoginFixture,
  THROTTLE_BLOCK_S,
  THROTTLE_LIMIT,
} from '../support/login-fixture.js';

let fx: LoginFixture;
beforeAll(async () => {
  fx = await startLoginFixture('hono_adapter');
});
afterAll(() => fx?.close());

const JSON_TYPE = { 'content-type': 'application/json' };

/** An app with the login route, both health probes, and an error handler that records what it got. */
function makeApp(options: HonoLoginOptions = FIELDS) {
  const app = new Hono();
  const errors: unknown[] = [];
  let handled = 0;
  app.onError((error, c) => {
    errors.push(error);
    return error instanceof HTTPException ? error.getResponse() : c.text('bug', 500);
  });
  app.post('/login', login(fx.auth, options), (c) => {
    handled += 1;
    const success = c.get('auth');
    expectTypeOf(success).toEqualTypeOf<AuthSuccess<ContractUser>>();
    return c.json({ ok: true, user: success.user, mustChangePassword: success.mustChangePassword });
  });
  app.get('/health/ready', healthHandler(fx.auth));
  app.get('/health/live', healthHandler(fx.auth, { probe: 'liveness' }));
  return {
    app,
    errors,
    handled: () => handled,
    postJson: (body: unknown, headers: Record<string, string> = {}) =>
      app.request('/login', {
        method: 'POST',
        headers: { ...JSON_TYPE, ...headers },
        body: JSON.stringify(body),
      }),
    post: (body: BodyInit, headers: Record<string, string> = {}) =>
      app.request('/login', { method: 'POST', headers, body }),
  };
}

function form(entries: [string, string][]): URLSearchParams {
  return new URLSearchParams(entries);
}

/** The context of the last `onAttempt` for `identifier`. */
function lastContext(identifier: string) {
  const attempts = fx.recorded
    .of('onAttempt')
    .filter((event) => (event as AttemptEvent & { identifier?: string }).identifier === identifier);
  return (attempts.at(-1) as AttemptEvent | undefined)?.context;
}

async function expectRefusal(response: Response, status: number, body: Record<string, unknown>) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/json');
  expect(await response.json()).toEqual(body);
}

const INVALID_EMAIL = { error: 'invalid_input', message: 'Invalid email.', field: 'email' };
const INVALID_PASSWORD = {
  error: 'invalid_input',
  message: 'Invalid password.',
  field: 'password',
};

describe('login(): the mapping table through app.request', () => {
  it.each(MAPPING_CASES)('$row -> $status', async (c) => {
    const { postJson, handled } = makeApp();
    const response = await postJson(c.body);
    expect(response.status).toBe(c.status);
    if (c.status === 200) {
      expect(await response.json()).toEqual({
        ok: true,
        user: { id: 1, email: 'ada@example.com' },
        mustChangePassword: false,
      });
      expect(handled()).toBe(1);
      return;
    }
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual(expectedBody(c));
    const retryAfter = response.headers.get('retry-after');
    if (c.retryAfter) expect(Number(retryAfter)).toBeGreaterThan(0);
    else expect(retryAfter).toBeNull();
    // A refusal never reaches the next handler.
    expect(handled()).toBe(0);
  });

  it('a refusal is an HTTPException with the status, its response and the AuthHttpError as cause', async () => {
    const { postJson, errors } = makeApp();
    await postJson({ email: 'locked@example.com', password: PASSWORD });
    expect(errors).toHaveLength(1);
    const error = errors[0] as HTTPException;
    expect(error).toBeInstanceOf(HTTPException);
    expect(error.status).toBe(429);
    expect(error.message).toBe(MESSAGES.account_locked);
    expect(isAuthHttpError(error.cause)).toBe(true);
    expect(error.res?.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
  });

  it("without an onError of the app's, Hono's default handler sends the exception's response", async () => {
    const app = new Hono();
    app.post('/login', login(fx.auth, FIELDS), (c) => c.text('in'));
    const response = await app.request('/login', {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ email: 'disabled@example.com', password: PASSWORD }),
    });
    await expectRefusal(response, 403, {
      error: 'account_disabled',
      message: MESSAGES.account_disabled,
    });
  });

  it('the default body fields are identifier and password', async () => {
    const app = new Hono();
    app.post('/login', login(fx.auth), (c) => c.json(c.get('auth').user));
    const ok = await app.request('/login', {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ identifier: 'ada@example.com', password: PASSWORD }),
    });
    expect(await ok.json()).toEqual({ id: 1, email: 'ada@example.com' });
    const missing = await app.request('/login', {
      method: 'POST',
      headers: JSON_TYPE,
      body: JSON.stringify({ email: 'ada@example.com', password: PASSWORD }),
    });
    await expectRefusal(missing, 400, {
      error: 'invalid_input',
      message: 'Invalid identifier.',
      field: 'identifier',
    });
  });
});

describe('login(): request bodies', () => {
  it('a urlencoded form post logs in', async () => {
    const { post } = makeApp();
    const response = await post(
      form([
        ['email', 'ada@example.com'],
        ['password', PASSWORD],
      ]),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ user: { email: 'ada@example.com' } });
  });

  it('a multipart form post logs in', async () => {
    const { post } = makeApp();
    const body = new FormData();
    body.set('email', 'ada@example.com');
    body.set('password', PASSWORD);
    const response = await post(body);
    expect(response.status).toBe(200);
  });

  it('content-type parameters and case do not matter', async () => {
    const { post } = makeApp();
    const response = await post(JSON.stringify({ email: 'ada@example.com', password: PASSWORD }), {
      'content-type': 'Application/JSON; charset=utf-8',
    });
    expect(response.status).toBe(200);
  });

  it('a form field given twice arrives as an array: 400 naming it', async () => {
    const { post } = makeApp();
    await expectRefusal(
      await post(
        form([
          ['email', 'ada@example.com'],
          ['email', 'ada@example.com'],
          ['password', PASSWORD],
        ]),
      ),
      400,
      INVALID_EMAIL,
    );
    await expectRefusal(
      await post(
        form([
          ['email', 'ada@example.com'],
          ['password', PASSWORD],
          ['password', PASSWORD],
        ]),
      ),
      400,
      INVALID_PASSWORD,
    );
  });

  it('a file as the password: 400 naming it', async () => {
    const { post } = makeApp();
    const body = new FormData();
    body.set('email', 'ada@example.com');
    body.set('password', new Blob([PASSWORD]), 'password.txt');
    await expectRefusal(await post(body), 400, INVALID_PASSWORD);
  });

  it.each([
    ['malformed JSON', '{"email": "ada@example.com", "password": ', JSON_TYPE],
    ['an empty JSON body', '', JSON_TYPE],
    ['a JSON array', JSON.stringify(['ada@example.com', PASSWORD]), JSON_TYPE],
    ['JSON null', 'null', JSON_TYPE],
    ['a JSON string', JSON.stringify('email=ada@example.com'), JSON_TYPE],
    ['text/plain', 'email=ada@example.com&password=x', { 'content-type': 'text/plain' }],
    ['no content-type', 'email=ada@example.com', {}],
    [
      'multipart without a boundary',
      '--x\r\ncontent-disposition: form-data; name="email"\r\n\r\nada@example.com\r\n--x--',
      { 'content-type': 'multipart/form-data' },
    ],
  ])('%s: 400 naming the identifier field, not 500', async (_, body, headers) => {
    const { post, errors } = makeApp();
    await expectRefusal(await post(body, headers), 400, INVALID_EMAIL);
    expect(errors.every((error) => error instanceof HTTPException)).toBe(true);
  });

  it('a body that cannot be read is an error for the app, not an empty form', async () => {
    const { app, errors } = makeApp();
    const failing = new ReadableStream({
      start(controller) {
        controller.error(new Error('connection lost'));
      },
    });
    const response = await app.request(
      new Request('http://localhost/login', {
        method: 'POST',
        headers: JSON_TYPE,
        body: failing,
        duplex: 'half',
      } as RequestInit),
    );
    expect(response.status).toBe(500);
    expect(errors).toHaveLength(1);
    expect(errors[0]).not.toBeInstanceOf(HTTPException);
  });
});

describe('login(): request context', () => {
  const headers = {
    'user-agent': 'hono-test/1.0',
    'x-request-id': 'req-42',
    'x-forwarded-for': '203.0.113.7, 10.0.0.1',
  };

  it('by default: user-agent and x-request-id, and no IP without a socket (X-Forwarded-For is not trusted)', async () => {
    const { postJson } = makeApp();
    await postJson({ email: 'ada@example.com', password: PASSWORD }, headers);
    expect(lastContext('ada@example.com')).toEqual({
      userAgent: 'hono-test/1.0',
      requestId: 'req-42',
    });
  });

  it.each([
    [true, '10.0.0.1'],
    [2, '203.0.113.7'],
    [5, '203.0.113.7'],
  ])(
    'trustProxy %s: the entry the outermost trusted proxy appended, never one the client wrote',
    async (trustProxy, ip) => {
      const { postJson } = makeApp({ ...FIELDS, trustProxy });
      await postJson({ email: 'ada@example.com', password: PASSWORD }, headers);
      expect(lastContext('ada@example.com')).toEqual({
        ip,
        userAgent: 'hono-test/1.0',
        requestId: 'req-42',
      });
    },
  );

  it('ip: the app says where the IP comes from', async () => {
    const { postJson } = makeApp({ ...FIELDS, ip: (c) => c.req.header('cf-connecting-ip') });
    await postJson(
      { email: 'ada@example.com', password: PASSWORD },
      { ...headers, 'cf-connecting-ip': '198.51.100.9' },
    );
    expect(lastContext('ada@example.com')).toMatchObject({ ip: '198.51.100.9' });
  });

  it('a 3 KB user-agent is cut, not refused', async () => {
    const { postJson } = makeApp();
    const response = await postJson(
      { email: 'ada@example.com', password: PASSWORD },
      { 'user-agent': 'u'.repeat(3000) },
    );
    expect(response.status).toBe(200);
    expect(lastContext('ada@example.com')?.userAgent).toHaveLength(2048);
  });

  it('context replaces the default entirely', async () => {
    const { postJson } = makeApp({
      ...FIELDS,
      context: (c) => ({ requestId: `own-${c.req.header('x-request-id')}` }),
    });
    await postJson({ email: 'ada@example.com', password: PASSWORD }, headers);
    expect(lastContext('ada@example.com')).toEqual({ requestId: 'own-req-42' });
  });
});

describe('healthHandler()', () => {
  it('readiness: pass with 200, application/health+json, not cached', async () => {
    const { app } = makeApp();
    const response = await app.request('/health/ready');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/health+json');
    expect(response.headers.get('cache-control')).toBe('no-store');
    const body = await response.json();
    expect(body).toMatchObject({
      status: 'pass',
      checks: {
        'primary:responseTime': [{ componentType: 'datastore', status: 'pass' }],
        'replica:responseTime': [{ componentType: 'datastore', status: 'pass' }],
      },
    });
  });

  it('liveness never touches the auth: 200 pass from a source that would throw', async () => {
    const app = new Hono();
    const untouchable = {
      health: () => {
        throw new Error('liveness read health()');
      },
      check: () => Promise.reject(new Error('liveness ran check()')),
    };
    app.get('/live', healthHandler(untouchable, { probe: 'liveness' }));
    const response = await app.request('/live');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/health+json');
    expect(await response.json()).toEqual({ status: 'pass', description: expect.any(String) });
  });
});

describe('invalid options: a ConfigError naming the option', () => {
  it.each([
    ['login.identifierField', () => login(fx.auth, { identifierField: '' })],
    [
      'login.passwordField',
      () => login(fx.auth, { identifierField: 'email', passwordField: 'email' }),
    ],
    ['login.trustProxy', () => login(fx.auth, { trustProxy: 'yes' } as never)],
    ['login.ip', () => login(fx.auth, { ip: '127.0.0.1' } as never)],
    ['login.context', () => login(fx.auth, { context: {} } as never)],
    ['login.ip', () => login(fx.auth, { ip: () => undefined, context: () => ({}) })],
    ['login.trustProxy', () => login(fx.auth, { trustProxy: true, context: () => ({}) })],
    ['login.trustProxy', () => login(fx.auth, { trustProxy: true, ip: () => undefined })],
    ['login', () => login(fx.auth, { identifer: 'email' } as never)],
    ['login.auth', () => login(undefined as never)],
    ['healthHandler.probe', () => healthHandler(fx.auth, { probe: 'ready' } as never)],
    ['healthHandler.activeCheck', () => healthHandler(fx.auth, { activeCheck: 1 } as never)],
    ['healthHandler.auth', () => healthHandler({} as never)],
  ])('%s', (option, build) => {
    const thrown = thrownBy(() => build());
    expect(isConfigError(thrown)).toBe(true);
    expect(thrown).toMatchObject({ option });
  });
});

describe('login(): the throttle and outages', () => {
  it(`rate_limited: wrong password #${THROTTLE_LIMIT + 1} in a row -> 429 with Retry-After ${THROTTLE_BLOCK_S}`, async () => {
    // The consecutive limit counts per identifier and IP: without an IP it does not apply.
    const { postJson } = makeApp({ ...FIELDS, trustProxy: true });
    const wrong = { email: "o'brien@example.com", password: 'not-it' };
    const client = { 'x-forwarded-for': '192.0.2.44' };
    for (let i = 0; i < THROTTLE_LIMIT; i += 1) {
      expect((await postJson(wrong, client)).status).toBe(401);
    }
    const response = await postJson(wrong, client);
    expect(response.headers.get('retry-after')).toBe(String(THROTTLE_BLOCK_S));
    await expectRefusal(response, 429, {
      error: 'rate_limited',
      message: MESSAGES.rate_limited,
    });
  });

  it.each([
    ['the default (the socket address on Node)', {}],
    ['getConnInfo as ip', { ip: (c: Context) => getConnInfo(c).remote.address }],
  ])(
    'through a real socket (@hono/node-server), %s: the client IP, a login, and a 503 with Retry-After',
    async (_, ipOption) => {
      const { app } = makeApp({ ...FIELDS, ...ipOption });
      const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' });
      try {
        await new Promise<void>((done) =>
          server.listening ? done() : server.once('listening', done),
        );
        const { port } = server.address() as AddressInfo;
        const send = () =>
          fetch(`http://127.0.0.1:${port}/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
            body: form([
              ['email', 'zoë@example.com'],
              ['password', PASSWORD],
            ]),
          });
        const ok = await send();
        expect(ok.status).toBe(200);
        expect(await ok.json()).toMatchObject({ user: { email: 'zoë@example.com' } });
        expect(lastContext('zoë@example.com')?.ip).toBe('127.0.0.1');

        await fx.allDown();
        try {
          const down = await send();
          expect(down.status).toBe(503);
          expect(down.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
          expect(await down.json()).toEqual({
            error: 'unavailable',
            message: MESSAGES.unavailable,
          });
        } finally {
          await fx.allUp();
        }
      } finally {
        await new Promise<void>((done, fail) =>
          server.close((error) => (error ? fail(error) : done())),
        );
      }
    },
  );

  it("the primary's table renamed: 200 through the fallback, readiness warn with 200", async () => {
    const { app, postJson } = makeApp();
    await fx.renamePrimaryTable();
    try {
      const response = await postJson({ email: 'ada@example.com', password: PASSWORD });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ user: { email: 'ada@example.com' } });
      const health = await app.request('/health/ready');
      expect(health.status).toBe(200);
      const body = await health.json();
      expect(body.status).toBe('warn');
      expect(body.checks['primary:responseTime'][0]).toMatchObject({ status: 'warn' });
      expect(JSON.stringify(body)).not.toMatch(/users|postgres:\/\//);
    } finally {
      await fx.restorePrimaryTable();
    }
  });

  it('every provider down: 503 with Retry-After, a generic body, the cause kept for the app; liveness still 200', async () => {
    const { app, postJson, errors, handled } = makeApp();
    await fx.allDown();
    try {
      const response = await postJson({ email: 'ada@example.com', password: PASSWORD });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(response.headers.get('content-type')).toBe('application/json');
      const text = await response.text();
      expect(JSON.parse(text)).toEqual({ error: 'unavailable', message: MESSAGES.unavailable });
      expectNoInternals(text);
      expect(handled()).toBe(0);

      const error = errors[0] as HTTPException;
      expect(error).toBeInstanceOf(HTTPException);
      expect(error.status).toBe(503);
      expectNoInternals(error.message);
      const cause = error.cause;
      expect(isAuthHttpError(cause) && cause.cause).toBeInstanceOf(AuthUnavailableError);

      const live = await app.request('/health/live');
      expect(live.status).toBe(200);
      expect(await live.json()).toMatchObject({ status: 'pass' });
      const ready = await app.request('/health/ready');
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({ status: 'fail' });
    } finally {
      await fx.allUp();
    }
  });
});

// --- src/hono stays free of Node-only modules -------------------------------

const FORBIDDEN = [
  /^node:/,
  /^pg(\/|$)/,
  /^piscina(\/|$)/,
  /^bcryptjs(\/|$)/,
  /^worker_threads(\/|$)/,
  /^rate-limiter-flexible(\/|$)/,
];

// Node's globals: no edge runtime has them.
const NODE_GLOBALS = new Set(['Buffer', 'process', '__dirname', '__filename', 'setImmediate']);

/** `process` in `process.env`, not `x.process` nor `{ process: 1 }`. */
function isReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  if (
    (ts.isPropertyAssignment(parent) ||
      ts.isPropertySignature(parent) ||
      ts.isPropertyDeclaration(parent) ||
      ts.isMethodDeclaration(parent)) &&
    parent.name === node
  ) {
    return false;
  }
  return true;
}

/** Module specifiers a source file loads at run time (`import type` and `export type` left out). */
function runtimeImports(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isImportDeclaration(node) &&
      !node.importClause?.isTypeOnly &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isExportDeclaration(node) &&
      !node.isTypeOnly &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      found.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require'))
    ) {
      const [argument] = node.arguments;
      found.push(argument && ts.isStringLiteral(argument) ? argument.text : '<dynamic>');
    } else if (ts.isIdentifier(node) && NODE_GLOBALS.has(node.text) && isReference(node)) {
      found.push(`global ${node.text}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every file reached from `entry` through relative runtime imports, with the forbidden ones it loads. */
async function scanGraph(entry: string, read: (file: string) => Promise<string>) {
  const visited = new Set<string>();
  const violations: string[] = [];
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (visited.has(file)) continue;
    visited.add(file);
    for (const specifier of runtimeImports(file, await read(file))) {
      if (specifier.startsWith('.')) {
        queue.push(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      } else if (
        specifier === '<dynamic>' ||
        specifier.startsWith('global ') ||
        FORBIDDEN.some((pattern) => pattern.test(specifier))
      ) {
        violations.push(`${file}: ${specifier}`);
      }
    }
  }
  return { visited, violations };
}

describe('resilient-auth/hono loads no Node-only module', () => {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

  it('src/hono and every module it imports at run time', async () => {
    const { visited, violations } = await scanGraph(resolve(root, 'src/hono/index.ts'), (file) =>
      readFile(file, 'utf8'),
    );
    const files = [...visited].map((file) => relative(root, file));
    // The walk went through the framework-free layer, not just the barrel.
    expect(files).toEqual(
      expect.arrayContaining([
        'src/hono/login.ts',
        'src/hono/health-handler.ts',
        'src/http/login-response.ts',
        'src/http/adapter-options.ts',
        'src/errors/errors.ts',
      ]),
    );
    // Type-only imports are not followed: the orchestrator is never loaded.
    expect(files.filter((file) => file.startsWith('src/orchestrator/'))).toEqual([]);
    expect(violations).toEqual([]);
  });

  it('the scan finds a forbidden import or a Node global two relative hops away, and skips type-only imports and property names', async () => {
    const sources: Record<string, string> = {
      '/x/index.ts': "import type { Pool } from 'pg';\nexport { a } from './a.js';",
      '/x/a.ts':
        "import { b } from './b.js';\nexport const a = { process: b, run: () => b.process };",
      '/x/b.ts':
        "import { cpus } from 'node:os';\nimport { type Piscina } from 'piscina';\nexport const b = () => import('bcryptjs');\nconst bytes = Buffer.from('x');",
    };
    const { visited, violations } = await scanGraph('/x/index.ts', async (file) => {
      const text = sources[file];
      if (text === undefined) throw new Error(`no ${file}`);
      return text;
    });
    expect([...visited]).toEqual(['/x/index.ts', '/x/a.ts', '/x/b.ts']);
    expect(violations).toEqual([
      '/x/b.ts: node:os',
      '/x/b.ts: piscina',
      '/x/b.ts: bcryptjs',
      '/x/b.ts: global Buffer',
    ]);
  });
});
