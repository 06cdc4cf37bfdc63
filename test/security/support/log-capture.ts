/**
 * The gateway's pino output captured in memory, so a test can read every log
 * line a hostile request produced (createGateway takes the logger).
 */
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../../src/observability/logger.js';

export interface LogCapture {
  logger: Logger;
  /** Every line written so far. */
  lines(): string[];
  /** Lines written since `mark` (a value returned by `mark()`). */
  since(mark: number): string[];
  mark(): number;
}

export function captureLogs(level = 'debug'): LogCapture {
  const lines: string[] = [];
  let partial = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const text = partial + chunk.toString('utf8');
      const parts = text.split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter(Boolean));
      done();
    },
  });
  return {
    logger: createLogger({ level, format: 'json' }, sink),
    lines: () => lines,
    since: (mark) => lines.slice(mark),
    mark: () => lines.length,
  };
}
