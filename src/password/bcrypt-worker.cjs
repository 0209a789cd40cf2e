'use strict';
// Runs in a piscina worker thread: bcrypt is CPU-bound, so verification and
// hashing stay off the event loop. Plain CommonJS, so it runs unbuilt from
// src/ and copied into dist/, and so piscina's `require(filename)` loads it
// (and bcryptjs's CommonJS build) natively: an .mjs worker goes through Node's
// young require(esm) path, which once crashed a process exiting while a thread
// was still loading it.
const bcrypt = require('bcryptjs');

/**
 * Answers every task, never throws: a hash bcryptjs cannot check (or a
 * password it cannot hash) is this login's problem, while a rejected task
 * means the pool itself failed.
 * - `{ password, hash }` verifies: `true`, `false` or `{ error }`;
 * - `{ password, cost }` hashes: `{ hash }` or `{ error }`.
 * @param {{ password: string, hash: string } | { password: string, cost: number }} task
 * @returns {boolean | { hash: string } | { error: string }}
 */
module.exports = function bcryptTask(task) {
  try {
    if (typeof task.cost === 'number') {
      // bcryptjs would clamp a cost out of range (99 becomes 31: hours of work).
      if (!Number.isInteger(task.cost) || task.cost < 4 || task.cost > 31) {
        return { error: `cost must be an integer from 4 to 31, not ${task.cost}` };
      }
      return { hash: bcrypt.hashSync(task.password, task.cost) };
    }
    return bcrypt.compareSync(task.password, task.hash);
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
};
