/**
 * The labels of `kube_bastion_requests_total`, from a bounded set only: a
 * label value is never simply what the client wrote, or anyone could grow
 * /metrics (and the process) by naming a new namespace per request.
 *
 *   namespace  the namespace when the cluster knows it (it holds a Service, or
 *              the request's target resolved), `other` when it does not,
 *              `unauthenticated` for requests that never authenticated,
 *              '' for node and non-proxy requests
 *   kind       services | pods | nodes | page | none
 *   code       the status sent, 100–599; anything else is `other`
 */
export const UNAUTHENTICATED = 'unauthenticated';
export const OTHER = 'other';

export interface RequestFacts {
  kind: 'services' | 'pods' | 'nodes' | 'page' | 'none';
  /** The namespace the request named; '' when none. */
  namespace: string;
  authenticated: boolean;
  /** Its target resolved: the object, and so its namespace, exists. */
  resolved: boolean;
  code: number;
}

export interface RequestLabels {
  namespace: string;
  kind: string;
  code: string;
}

/** The code labels, made once: `String(status)` per request was a string each time. */
const CODES = Array.from({ length: 600 }, (_, i) => String(i));

export function requestLabels(f: RequestFacts, knowsNamespace: (ns: string) => boolean): RequestLabels {
  let namespace = '';
  if (f.kind === 'services' || f.kind === 'pods') {
    if (!f.authenticated) namespace = UNAUTHENTICATED;
    else namespace = f.resolved || knowsNamespace(f.namespace) ? f.namespace : OTHER;
  }
  const code = Number.isInteger(f.code) && f.code >= 100 && f.code <= 599 ? CODES[f.code] : OTHER;
  return { namespace, kind: f.kind, code };
}
