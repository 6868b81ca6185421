import type { LogLevel } from '@nestjs/common';
import type { AppConfig } from './app-config.js';

/** Nest's logger levels up to LOG_LEVEL. */
export function logLevels(level: AppConfig['LOG_LEVEL']): LogLevel[] {
  const order: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
  return order.slice(0, order.indexOf(level) + 1);
}
