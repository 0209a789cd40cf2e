import type { Account, AuthProvider, AuthUser, ProviderCallContext } from './provider.js';

/** Options of {@link ormProvider}. */
export interface OrmProviderOptions<U = AuthUser> {
  /** Default: `'orm'`. */
  readonly name?: string;
  /** The app's ORM lookup (Drizzle, Prisma, Kysely...): the account, or `null` when there is none. */
  findAccount(identifier: string, ctx: ProviderCallContext): Promise<Account<U> | null>;
  /** Optional active probe, e.g. `() => db.execute(sql\`select 1\`)`. */
  check?(ctx: ProviderCallContext): Promise<unknown>;
}

/**
 * Wraps an ORM lookup as a provider. Errors the ORM wraps (Drizzle's
 * `DrizzleQueryError`, for one, whose message repeats the query and its
 * parameters) are unwrapped to the driver's error, so failures, hooks and
 * health carry the SQLSTATE and the database's own message.
 *
 * @example
 * ```ts
 * const orm = ormProvider({
 *   name: 'drizzle',
 *   findAccount: async (email) => {
 *     const [u] = await db.select().from(users).where(eq(sql`lower(${users.email})`, email.toLowerCase()));
 *     return u ? { user: { id: u.id }, passwordHash: u.passwordHash, active: u.isActive } : null;
 *   },
 * });
 * ```
 */
export function ormProvider<U = AuthUser>(options: OrmProviderOptions<U>): AuthProvider<U> {
  const { check } = options;
  return {
    name: options.name ?? 'orm',
    async findAccount(identifier, ctx) {
      try {
        return await options.findAccount(identifier, ctx);
      } catch (error) {
        throw driverError(error);
      }
    },
    ...(check && {
      async check(ctx: ProviderCallContext) {
        try {
          await check(ctx);
        } catch (error) {
          throw driverError(error);
        }
      },
    }),
  };
}

/** The innermost error along `cause` that carries a SQLSTATE or errno `code`; the error itself otherwise. */
function driverError(error: unknown): unknown {
  let found: unknown;
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (typeof (current as { code?: unknown }).code === 'string') found = current;
    current = current.cause;
  }
  return found ?? error;
}
