// resilient-auth/testing: helpers for users' own test suites.

export type {
  MemoryAccount,
  MemoryProvider,
  MemoryProviderOptions,
} from '../providers/memory-provider.js';
export { memoryProvider, simulatedOutage } from '../providers/memory-provider.js';
export type { ManualClock } from './manual-clock.js';
export { manualClock } from './manual-clock.js';
