import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { Logger } from '../core/ports.js';
import { SERVICE_NAME } from './service-name.js';

/**
 * Secrets must never reach a log, whatever a caller passes in: capability tokens,
 * payment credentials and workflow task tokens are masked wherever they appear.
 */
const SECRET_PATTERNS = [
  /mt_(read|extend|term)_[A-Za-z0-9_-]+/g,
  /\bPayment\s+[A-Za-z0-9_\-=.]{16,}/g,
  /\bBearer\s+\S+/gi,
  /\bsk_(live|test)_[A-Za-z0-9]+/g,
];
const SECRET_FIELDS = /token|secret|authorization|credential|password|ssh_public_key/i;

export function redact(value: unknown, key = ''): unknown {
  if (SECRET_FIELDS.test(key) && value !== undefined) return '[redacted]';
  if (typeof value === 'string') {
    return SECRET_PATTERNS.reduce((text, pattern) => text.replace(pattern, '[redacted]'), value);
  }
  if (Array.isArray(value)) return value.map((item) => redact(item));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  }
  return value;
}

type Level = 'info' | 'warn' | 'error';
type Sink = (level: Level, event: string, fields: Record<string, unknown>) => void;

function logger(sink: Sink): Logger {
  const emit =
    (level: Level) =>
    (event: string, fields: Record<string, unknown> = {}) =>
      sink(level, event, redact(fields) as Record<string, unknown>);
  return { info: emit('info'), warn: emit('warn'), error: emit('error') };
}

/**
 * The core's Logger port on Powertools Logger: one JSON object per line on stdout (level,
 * message = the event name, timestamp, service, then the fields), for CloudWatch Logs
 * Insights. Fields are redacted before Powertools sees them.
 */
export const powertoolsLogger = (
  powertools: Pick<PowertoolsLogger, Level> = new PowertoolsLogger({
    serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? SERVICE_NAME,
  }),
): Logger => logger((level, event, fields) => powertools[level](event, fields));

/** The functions' logger on AWS. */
export const jsonLogger = (): Logger => powertoolsLogger();

/** One readable line per event, for a terminal. */
export const lineLogger = (write: (line: string) => void = (line) => console.info(line)): Logger =>
  logger((level, event, fields) => {
    const time = new Date().toISOString().slice(11, 19);
    const details = Object.entries(fields)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(' ');
    const marker = level === 'info' ? '' : ` ${level.toUpperCase()}`;
    write(`${time}${marker} ${event}${details ? ` ${details}` : ''}`);
  });

/** Collects entries in memory, for tests that assert on what was (and was not) logged. */
export function memoryLogger(): Logger & {
  entries: { level: Level; event: string; fields: Record<string, unknown> }[];
} {
  const entries: { level: Level; event: string; fields: Record<string, unknown> }[] = [];
  return Object.assign(
    logger((level, event, fields) => {
      entries.push({ level, event, fields });
    }),
    { entries },
  );
}
