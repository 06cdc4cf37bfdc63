/**
 * What the user typed after `kube-bastion connect`, as a tunnel URL path:
 *
 *   team-a/postgres:5432        Service postgres, port 5432 (number or name; optional on a one-port Service)
 *   team-a/pod/db-0:5432        Pod db-0 (also `pods/`), container port 5432 (optional: its first declared port)
 *   team-a/svc/postgres:5432    the Service form, spelt out (also `service/`, `services/`)
 *
 * Names follow the cluster's rules (proxy/names.ts): a name no object can
 * have is refused here, with a line that says so, before anything is sent.
 */
import { GatewayError } from '../../errors.js';
import { checkNames } from '../../request/names.js';
import type { TargetKind } from '../../request/target.js';

export interface ConnectTarget {
  kind: Exclude<TargetKind, 'nodes'>;
  namespace: string;
  name: string;
  /** Port number or name; '' when absent. */
  port: string;
  /** The gateway path: `/api/v1/namespaces/NS/services/NAME[:PORT]/portforward`. */
  path: string;
  /** How the CLI names it in messages: what the user typed, normalized. */
  label: string;
}

export class TargetSyntaxError extends Error {
  readonly code = 'ERR_CONNECT_TARGET';
  constructor(message: string) {
    super(message);
    this.name = 'TargetSyntaxError';
  }
}

const KINDS: Record<string, ConnectTarget['kind']> = {
  pod: 'pods',
  pods: 'pods',
  svc: 'services',
  service: 'services',
  services: 'services',
};

const USAGE = 'expected NAMESPACE/SERVICE[:PORT] or NAMESPACE/pod/NAME[:PORT], e.g. team-a/postgres:5432';

export function parseConnectTarget(text: string): ConnectTarget {
  const parts = text.trim().split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw new TargetSyntaxError(`"${text}": ${USAGE}`);
  }
  const kind = parts.length === 3 ? KINDS[parts[1]] : 'services';
  if (!kind) throw new TargetSyntaxError(`"${text}": "${parts[1]}" is not pod or svc; ${USAGE}`);
  const namespace = parts[0];
  const segment = parts[parts.length - 1];
  const colon = segment.indexOf(':');
  const name = colon === -1 ? segment : segment.slice(0, colon);
  const port = colon === -1 ? '' : segment.slice(colon + 1);
  if (port.includes(':') || (colon !== -1 && port === '')) {
    throw new TargetSyntaxError(`"${text}": the port goes after one colon, e.g. ${namespace}/${name}:5432`);
  }
  try {
    checkNames({ kind, namespace, name, port, segment });
  } catch (err) {
    if (err instanceof GatewayError) throw new TargetSyntaxError(`"${text}": ${describeBadName(err, kind)}`);
    throw err;
  }
  const label = `${namespace}/${kind === 'pods' ? 'pod/' : ''}${segment}`;
  const path = `/api/v1/namespaces/${namespace}/${kind}/${segment}/portforward`;
  return { kind, namespace, name, port, path, label };
}

function describeBadName(err: GatewayError, kind: ConnectTarget['kind']): string {
  if (err.status === 400) return 'the port must be a number (1–65535) or a port name';
  return `no ${kind === 'pods' ? 'pod' : 'service'} or namespace can have this name (lowercase letters, digits and "-")`;
}
