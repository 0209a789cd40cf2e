import type { FastifyPluginAsync } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { z } from 'zod';
import { ConfigError } from '../errors/errors.js';
import { parseFactoryOptions } from '../errors/factory-options.js';
import type { ResilientAuth } from '../orchestrator/create-resilient-auth.js';
import type { AuthUser } from '../providers/provider.js';

/**
 * Declares the user type `app.auth` returns on success, the way
 * `@fastify/jwt` lets an app declare its `user`: augment it once in the app.
 * Without it, `app.auth` is a `ResilientAuth<AuthUser>`.
 *
 * @example
 * ```ts
 * declare module 'resilient-auth/fastify' {
 *   interface ResilientAuthTypes { user: { id: number; email: string } }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: an interface the app augments; it must exist empty.
export interface ResilientAuthTypes {}

/** The user type of `app.auth`: {@link ResilientAuthTypes}' `user` when declared, `AuthUser` otherwise. */
export type FastifyAuthUser = ResilientAuthTypes extends { readonly user: infer U } ? U : AuthUser;

declare module 'fastify' {
  interface FastifyInstance {
    /** The `ResilientAuth` registered with the `resilientAuth` plugin. */
    readonly auth: ResilientAuth<FastifyAuthUser>;
  }
}

/** Options of the {@link resilientAuth} plugin. */
export interface ResilientAuthPluginOptions {
  /** The authenticator the instance is decorated with, as `app.auth`. */
  readonly auth: ResilientAuth<FastifyAuthUser>;
  /**
   * Close `auth` when the instance closes (an `onClose` hook), so that
   * `await app.close()` also drains logins in flight and closes the pools,
   * the throttle and the verifier's threads. Set false when something else
   * owns `auth` (it is shared with another server). Default: true.
   */
  readonly closeAuth?: boolean;
}

const optionsSchema = z.strictObject({
  auth: z.custom<ResilientAuth<FastifyAuthUser>>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      ['authenticate', 'health', 'check', 'close'].every(
        (method) => typeof (value as Record<string, unknown>)[method] === 'function',
      ),
    { message: 'expected a ResilientAuth (from createResilientAuth())' },
  ),
  closeAuth: z.boolean().optional(),
  // Fastify's register() accepts these for every plugin: allowed, unused here.
  prefix: z.string().optional(),
  logLevel: z.string().optional(),
  logSerializers: z.unknown().optional(),
});

const plugin: FastifyPluginAsync<ResilientAuthPluginOptions> = async (fastify, options) => {
  const { auth, closeAuth } = parseFactoryOptions('resilientAuth', optionsSchema, options);
  if (fastify.hasDecorator('auth')) {
    throw new ConfigError(
      'resilientAuth',
      'this Fastify instance already has an `auth` decorator (resilientAuth registered twice, or another plugin such as @fastify/auth): register it once per encapsulation context',
    );
  }
  fastify.decorate('auth', auth);
  if (closeAuth !== false) {
    fastify.addHook('onClose', async () => {
      await auth.close();
    });
  }
};

/**
 * A Fastify plugin (built with `fastify-plugin`, so the decorator reaches the
 * context it is registered in) that decorates the instance with `auth` and
 * closes it on `app.close()`. Registering it twice in one context, or with bad
 * options, rejects with a `ConfigError`.
 *
 * @example
 * ```ts
 * const app = Fastify({ logger: true });
 * await app.register(resilientAuth, { auth: createResilientAuth({ providers }) });
 * app.post('/login', loginHandler(app.auth, { identifierField: 'email' }));
 * ```
 */
export const resilientAuth = fastifyPlugin(plugin, {
  fastify: '5.x',
  name: 'resilient-auth',
});
