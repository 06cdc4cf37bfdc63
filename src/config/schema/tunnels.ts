/** TCP tunnels (`kube-bastion connect`): whether they exist, where they may go, how long they live. */
import { z } from 'zod';
import { describe, duration } from './primitives.js';

// --- tunnels ----------------------------------------------------------------------

const portNumber = z.number().int().min(1).max(65535);

/** `"8000-8099"`, both ends included. */
const portRange = z
  .string()
  .regex(/^\d{1,5}-\d{1,5}$/, 'must be a range such as "8000-8099"')
  .refine((r) => {
    const [from, to] = r.split('-').map(Number);
    return from >= 1 && to <= 65535 && from <= to;
  }, 'must be a range of ports 1–65535, low end first');

export const tunnels = z.strictObject({
  enabled: describe(
    z.boolean().default(false),
    'accept TCP tunnels (`…/services/NAME[:PORT]/portforward`, `…/pods/NAME[:PORT]/portforward`, used by `kube-bastion connect`); each needs `create` on `services/portforward` or `pods/portforward` (RBAC, or a rule with `subresources: [portforward]`)',
  ),
  ports: describe(
    z.array(portNumber).min(1).optional(),
    'backend ports a tunnel may reach (the endpoint’s port, after the Service’s targetPort); with neither this nor portRanges, any port. Other ports answer 403 before the upgrade',
    [[5432, 6379, 22]],
  ),
  portRanges: describe(
    z.array(portRange).min(1).optional(),
    'more allowed backend ports, as ranges (`"8000-8099"`, both ends included), beside `ports`',
    [['8000-8099']],
  ),
  idleTimeout: describe(
    duration('1h'),
    'close a tunnel (code 4000) after this long without a byte in either direction; keepalive pings do not count; "0": never',
  ),
  maxLifetime: describe(
    duration('12h'),
    'close every tunnel (code 4001) this long after it opened, however busy; "0": never',
  ),
  keepalive: describe(
    duration('30s'),
    'send a WebSocket ping this often on every tunnel, so load balancers see traffic on idle ones; a client that has not answered by the next ping is dropped; "0": no pings',
  ),
  maxOpen: describe(
    z.number().int().min(1).default(1000),
    'most tunnels open at once on one gateway instance (each may buffer about half a megabyte); more answer 503 before the upgrade',
  ),
});

export type TunnelsConfig = z.output<typeof tunnels>;
