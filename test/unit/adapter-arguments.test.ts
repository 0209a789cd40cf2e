import { describe, expect, it } from 'vitest';
import * as express from '../../src/express/index.js';
import * as fastify from '../../src/fastify/index.js';
import * as hono from '../../src/hono/index.js';
import { isConfigError } from '../../src/index.js';
import * as nextAuth from '../../src/next-auth/index.js';
import * as passport from '../../src/passport/index.js';
import { thrownBy } from '../support/fakes.js';

// Every adapter checks what it is given when the app starts, not on the first
// request: a wrong `auth` is a ConfigError naming the factory, never a 500 per login.
const notAnAuth = { authenticate: 'yes', health: 42 };
const factories: [string, () => unknown][] = [
  ['login.auth', () => express.login(notAnAuth as never)],
  ['healthHandler.auth', () => express.healthHandler(notAnAuth as never)],
  ['loginHandler.auth', () => fastify.loginHandler(notAnAuth as never)],
  ['healthHandler.auth', () => fastify.healthHandler(notAnAuth as never)],
  ['login.auth', () => hono.login(notAnAuth as never)],
  ['healthHandler.auth', () => hono.healthHandler(notAnAuth as never)],
  ['ResilientAuthStrategy.auth', () => new passport.ResilientAuthStrategy(notAnAuth as never)],
  ['authorize.auth', () => nextAuth.authorize(notAnAuth as never)],
  ['healthHandler.auth', () => nextAuth.healthHandler(notAnAuth as never)],
];

describe('adapters refuse something that is not a ResilientAuth at construction', () => {
  it.each(factories)('%s', (option, build) => {
    const thrown = thrownBy(() => build());
    expect(isConfigError(thrown)).toBe(true);
    expect(thrown).toMatchObject({
      option,
      message: expect.stringContaining('expected a ResilientAuth'),
    });
  });
});
