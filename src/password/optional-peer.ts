import { createRequire } from 'node:module';
import { safeMessage } from '../errors/classify.js';
import { ConfigError } from '../errors/errors.js';

const loaded = new Map<string, unknown>();

/**
 * Loads an optional peer dependency (the app's own copy) the first time a
 * factory that needs it is called, so apps that do not use that factory
 * install nothing. Throws a {@link ConfigError} for option `requiredBy` that
 * says which package to install when it is missing, or that it is installed
 * but failed to load (a native addon built for another platform, say).
 *
 * The caller types the module as just the parts it uses.
 */
export function loadOptionalPeer<T>(packageName: string, requiredBy: string): T {
  if (loaded.has(packageName)) return loaded.get(packageName) as T;
  const load = createRequire(import.meta.url);
  let resolved: string;
  try {
    resolved = load.resolve(packageName);
  } catch (error) {
    throw new ConfigError(
      requiredBy,
      `needs the '${packageName}' package, an optional peer dependency of resilient-auth: npm install ${packageName}`,
      { cause: error },
    );
  }
  let peer: T;
  try {
    peer = load(resolved) as T;
  } catch (error) {
    throw new ConfigError(
      requiredBy,
      `'${packageName}' is installed but could not be loaded (${safeMessage(error)}): reinstall it on this platform`,
      { cause: error },
    );
  }
  loaded.set(packageName, peer);
  return peer;
}
