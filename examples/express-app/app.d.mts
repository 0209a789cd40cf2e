import type { Express } from 'express';
import type { ResilientAuth } from 'resilient-auth';

export function createApp(options: {
  auth: ResilientAuth<{ id: number; email: string }>;
  sessionSecret: string;
  secureCookies?: boolean;
}): Express;
