/**
 * Kubernetes object-name rules for the fixed segments of a proxy URL
 * (apimachinery `validation.IsDNS1123Label`, `IsDNS1123Subdomain`,
 * `IsDNS1035Label`, `IsValidPortName`). A name that breaks them cannot exist
 * in any cluster, so it is refused before anything else looks at the request:
 * no authentication, no cache, no metric label ever sees it.
 *
 * The apiserver itself checks none of this on the proxy path (its Get simply
 * finds nothing): its answer for such a name is 404 `<kind> "<name>" not
 * found`, and that is what the gateway answers too — only earlier, before
 * authentication. A port part that no object could declare is the apiserver's
 * 400 `invalid <kind> request "<segment>"`. docs/apiserver-compatibility.md.
 */
import { GatewayError, badRequest, notFound } from '../errors.js';
import type { TargetKind } from './target.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Namespaces, Service port names: at most 63 characters. */
export const isDNS1123Label = (s: string): boolean => s.length <= 63 && DNS1123_LABEL.test(s);
/** Pods and Nodes: at most 253 characters, dot-separated labels. */
export const isDNS1123Subdomain = (s: string): boolean => s.length <= 253 && DNS1123_SUBDOMAIN.test(s);
/** Services: a label that starts with a letter. */
export const isDNS1035Label = (s: string): boolean => s.length <= 63 && DNS1035_LABEL.test(s);

/** Container port names (IANA_SVC_NAME): ≤ 15, at least one letter, no `--`. */
export function isIanaSvcName(s: string): boolean {
  return s.length <= 15 && IANA_SVC_NAME.test(s) && /[a-z]/.test(s) && !s.includes('--');
}

/** A port number as the apiserver's strconv.Atoi + IsValidPortNum see it. */
export const isPortNumber = (s: string): boolean =>
  /^\d{1,5}$/.test(s) && Number(s) >= 1 && Number(s) <= 65535;

const NAME_RULE: Record<TargetKind, (s: string) => boolean> = {
  services: isDNS1035Label,
  pods: isDNS1123Subdomain,
  nodes: isDNS1123Subdomain,
};

/**
 * The port part of a segment: a Service port is named like a DNS label (Service
 * port names are validated as such, not as IANA names), a container port by
 * IANA_SVC_NAME; a kubelet is addressed by number only.
 */
const PORT_NAME_RULE: Record<TargetKind, (s: string) => boolean> = {
  services: isDNS1123Label,
  pods: isIanaSvcName,
  nodes: () => false,
};

/** All digits is a number to the apiserver (strconv.Atoi), never a name. */
const portOk = (kind: TargetKind, port: string) =>
  /^\d+$/.test(port) ? isPortNumber(port) : PORT_NAME_RULE[kind](port);

export interface NamedSegment {
  kind: TargetKind;
  /** '' for nodes. */
  namespace: string;
  name: string;
  port: string;
  segment: string;
}

/** Throws the apiserver's answer for a name no object can have; returns quietly otherwise. */
export function checkNames(p: NamedSegment): void {
  const nameOk = NAME_RULE[p.kind](p.name);
  const namespaceOk = p.kind === 'nodes' || isDNS1123Label(p.namespace);
  if (!nameOk || !namespaceOk) throw notFound(p.kind, p.name);
  if (p.port !== '' && !portOk(p.kind, p.port)) throw invalidRequest(p.kind, p.segment);
}

/** `invalid service request "a:b:c:d"`: the apiserver's 400 for a segment it cannot use. */
export function invalidRequest(kind: TargetKind, segment: string): GatewayError {
  return badRequest(`invalid ${kind.slice(0, -1)} request "${segment}"`);
}
