'use strict';
// Runs in a piscina worker thread: bcrypt is CPU-bound, so verification stays
// off the event loop. Plain CommonJS, so it runs unbuilt from src/ and copied
// into dist/, and so piscina's `require(filename)` loads it (and bcryptjs's
// CommonJS build) natively: an .mjs worker goes through Node's young
// require(esm) path, which once crashed a process exiting while a thread was
// still loading it.
const bcrypt = require('bcryptjs');

/**
 * Answers every task, never throws: a hash bcryptjs cannot check is this
 * login's problem, while a rejected task means the pool itself failed.
 * @param {{ password: string, hash: string }} task
 * @returns {boolean | { error: string }}
 */
module.exports = function verify({ password, hash }) {
  try {
    return bcrypt.compareSync(password, hash);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
};
