/** The operational log and the audit trail. */
import { z } from 'zod';
import { describe } from './primitives.js';

// --- logging ----------------------------------------------------------------------

export const logging = z
  .strictObject({
    level: describe(
      z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
      'least severe level of the operational log written; audit events are not affected',
    ),
    format: describe(
      z.enum(['json', 'pretty']).default('json'),
      '`json` lines, or `pretty` for reading in a terminal',
    ),
    audit: describe(
      z
        .strictObject({
          enabled: describe(z.boolean().default(true), 'write the audit trail'),
          file: describe(
            z.string().optional(),
            'append audit events here; default: stdout with `"audit":true`',
          ),
        })
        .prefault({}),
      'the audit trail: one event per authorization decision, whatever the log level',
    ),
  })
  .prefault({});
