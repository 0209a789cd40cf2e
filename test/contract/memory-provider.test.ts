import { memoryProvider } from '../../src/testing/index.js';
import { providerContract } from './provider-contract.js';

providerContract('memoryProvider', async (seeds) => ({
  provider: memoryProvider({ name: 'memory', accounts: seeds }),
}));
