import { existsSync } from 'node:fs';

/**
 * Loads `.env` from the working directory when there is one. Variables already
 * set in the environment win, so deployments configure through the environment
 * alone and the file is only a convenience for local runs.
 */
export function loadDotEnv(file = '.env'): void {
  if (existsSync(file)) process.loadEnvFile(file);
}
