/**
 * A Service's usable endpoints, per port, from its EndpointSlices: the
 * CVE-2021-25740 guard (an endpoint must be a Pod of the Service's namespace),
 * the apiserver's isValidAddress (that Pod must own the IP: pod-address-check)
 * and the dial policy are applied here, so nothing later can pick a forbidden IP.
 *
 * The list is built once per slices array (the index hands out the same frozen
 * array until a slice changes), so most requests read a finished list and the
 * balancer keeps its state. The first request after a change waits for the
 * Pod reads of endpoints it has not seen confirmed; later ones do not. Pairs
 * left unconfirmed are asked about again with backoff, and confirmations again
 * after `recheckAfterMs`, in the background — a request waits only when its
 * port has no usable endpoint at all.
 */
import type { V1EndpointSlice, V1ObjectReference } from '@kubernetes/client-node';
import { isIP } from 'node:net';
import type { AddressPolicy } from './address-policy.js';
import type { PodAddress, PodAddressCheck } from './pod-address-check.js';
import type { Endpoint } from '../request/target.js';

export interface ServiceEndpointsOptions {
  mayDial: AddressPolicy;
  /** Accept endpoints without a Pod targetRef (selector-less Services). */
  allowSelectorless: boolean;
  check: PodAddressCheck;
  /** When every endpoint is confirmed: how long until the confirmations are looked at again (ms). */
  recheckAfterMs: number;
  /** First and largest delay before unconfirmed endpoints are asked about again (ms). */
  retryMs?: { initial: number; max: number };
  now?: () => number;
}

/** What one slices array became: its candidate Pod addresses and, per port, the usable endpoints. */
interface Listing {
  namespace: string;
  pairs: PodAddress[];
  checked: boolean;
  refreshing: Promise<void> | undefined;
  nextCheck: number;
  retryMs: number;
  /** The confirmed pairs the lists were built from: a refresh that changes nothing keeps them. */
  confirmed: string;
  byPort: Map<string, readonly Endpoint[]>;
}

/**
 * The apiserver's `isValidAddress` before its Pod lookup: the targetRef must
 * name a Pod, by name, in exactly the Service's namespace. A missing namespace
 * is not read as "same namespace" — the EndpointSlice controller always
 * writes it, so only a hand-made slice omits it.
 */
export function isPodOfNamespace(ref: V1ObjectReference | undefined, namespace: string): boolean {
  return ref?.kind === 'Pod' && !!ref.name && ref.namespace === namespace;
}

/** The endpoints of a slice that may be dialled at all, and the Pod each claims (if any). */
function* candidates(slice: V1EndpointSlice, namespace: string, mayDial: AddressPolicy) {
  if (slice.addressType === 'FQDN') return;
  for (const ep of slice.endpoints) {
    const ip = ep.addresses[0];
    if (!ip || !isIP(ip) || !mayDial(ip)) continue;
    yield { ep, ip, pod: isPodOfNamespace(ep.targetRef, namespace) ? ep.targetRef!.name! : undefined };
  }
}

export class ServiceEndpoints {
  private readonly listings = new WeakMap<readonly V1EndpointSlice[], Listing>();
  private readonly now: () => number;
  private readonly retry: { initial: number; max: number };

  constructor(private readonly o: ServiceEndpointsOptions) {
    this.now = o.now ?? (() => performance.now());
    this.retry = o.retryMs ?? { initial: 1000, max: 60_000 };
  }

  /** The usable endpoints of `portName` (the same array while nothing changed). */
  async endpoints(
    slices: readonly V1EndpointSlice[],
    portName: string,
    namespace: string,
  ): Promise<readonly Endpoint[]> {
    const listing = this.listingOf(slices, namespace);
    if (!listing.checked) await this.refresh(listing);
    else if (this.now() >= listing.nextCheck) {
      const refreshed = this.refresh(listing);
      if (this.build(listing, slices, portName).length === 0) await refreshed;
    }
    return this.build(listing, slices, portName);
  }

  /**
   * The same list, at once, when nothing must be waited for or started first (the listing was
   * checked and its recheck is not due); undefined otherwise: ask `endpoints`.
   */
  known(slices: readonly V1EndpointSlice[], portName: string, namespace: string): readonly Endpoint[] | undefined {
    const listing = this.listingOf(slices, namespace);
    if (!listing.checked || this.now() >= listing.nextCheck) return undefined;
    return this.build(listing, slices, portName);
  }

  private listingOf(slices: readonly V1EndpointSlice[], namespace: string): Listing {
    let listing = this.listings.get(slices);
    if (!listing) {
      const pairs: PodAddress[] = [];
      for (const slice of slices)
        for (const c of candidates(slice, namespace, this.o.mayDial))
          if (c.pod) pairs.push({ pod: c.pod, ip: c.ip });
      listing = {
        namespace,
        pairs,
        checked: false,
        refreshing: undefined,
        nextCheck: 0,
        retryMs: this.retry.initial,
        confirmed: '',
        byPort: new Map(),
      };
      this.listings.set(slices, listing);
    }
    return listing;
  }

  /** One refresh at a time per listing; concurrent requests share it. */
  private refresh(l: Listing): Promise<void> {
    l.refreshing ??= this.o.check
      .refresh(l.namespace, l.pairs)
      .then((all) => {
        l.checked = true;
        l.nextCheck = this.now() + (all ? this.o.recheckAfterMs : l.retryMs);
        l.retryMs = all ? this.retry.initial : Math.min(l.retryMs * 2, this.retry.max);
        const confirmed = l.pairs
          .filter((p) => this.o.check.isConfirmed(l.namespace, p))
          .map((p) => `${p.pod}/${p.ip}`)
          .join(' ');
        if (confirmed !== l.confirmed) l.byPort.clear();
        l.confirmed = confirmed;
      })
      .finally(() => (l.refreshing = undefined));
    return l.refreshing;
  }

  /** The finished list of a port, memoized until a refresh changes what is confirmed. */
  private build(l: Listing, slices: readonly V1EndpointSlice[], portName: string): readonly Endpoint[] {
    let list = l.byPort.get(portName);
    if (!list) l.byPort.set(portName, (list = this.collect(l, slices, portName)));
    return list;
  }

  private collect(l: Listing, slices: readonly V1EndpointSlice[], portName: string): readonly Endpoint[] {
    const out: Endpoint[] = [];
    for (const slice of slices) {
      const port = slice.ports?.find((p) => (p.name ?? '') === portName && p.port != null);
      if (!port) continue;
      for (const { ep, ip, pod } of candidates(slice, l.namespace, this.o.mayDial)) {
        const owned = pod !== undefined && this.o.check.isConfirmed(l.namespace, { pod, ip });
        // An unconfirmed Pod reference is no better than none: usable only where selector-less ones are.
        if (!owned && !this.o.allowSelectorless) continue;
        const ready = ep.conditions?.ready ?? true;
        out.push({
          ip,
          port: port.port!,
          ready,
          serving: ep.conditions?.serving ?? ready,
          terminating: ep.conditions?.terminating ?? false,
          zone: ep.zone,
          hintZones: ep.hints?.forZones?.map((z) => z.name),
          nodeName: ep.nodeName,
          pod: owned ? `${l.namespace}/${pod}` : undefined,
        });
      }
    }
    return Object.freeze(out);
  }
}
