import { safeMessage } from '../errors/classify.js';

/** Secrets shorter than this are not searched for: replacing every "ab" in a report would mangle it. */
const MIN_SECRET_LENGTH = 4;

/**
 * Removes credentials from text the doctor prints: what `safeMessage` removes
 * (passwords in URLs, `password=...` pairs, password hashes), plus every
 * secret the doctor was given (connection-string passwords, the canary
 * password), as typed and URL-encoded, wherever they turn up.
 */
export class Redactor {
  readonly #secrets = new Set<string>();

  /** Adds a secret to search for. */
  add(secret: string | undefined): void {
    if (secret === undefined || secret.length < MIN_SECRET_LENGTH) return;
    this.#secrets.add(secret);
    this.#secrets.add(encodeURIComponent(secret));
  }

  /** `text` with every known secret and credential replaced by `***`. */
  redact(text: string): string {
    let out = safeMessage(text);
    // Longest first, so a secret that contains another is replaced whole.
    for (const secret of [...this.#secrets].sort((a, b) => b.length - a.length)) {
      out = out.replaceAll(secret, '***');
    }
    return out;
  }
}
