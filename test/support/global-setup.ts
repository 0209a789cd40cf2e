import type { TestProject } from 'vitest/node';
import { startTestServer } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgres: { url: string; kind: string };
  }
}

export default async function setup(project: TestProject) {
  const server = await startTestServer();
  project.provide('postgres', { url: server.url, kind: server.kind });
  return () => server.stop();
}
