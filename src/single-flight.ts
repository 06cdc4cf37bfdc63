/**
 * Work that many callers may ask for at the same time, done once: while a
 * flight for a key is under way, every caller with that key shares its
 * promise; once it settles, the next caller starts a new one. Caches sit in
 * front of it (what was learned is kept there, not here).
 */
export class SingleFlight<K, V> {
  private readonly flights = new Map<K, Promise<V>>();

  /** `max`: flights shared at once; past it, work starts unshared (a bound on what is remembered). */
  constructor(private readonly max = Infinity) {}

  /** The flight under way for `key`, if any. */
  joining(key: K): Promise<V> | undefined {
    return this.flights.get(key);
  }

  /** The flight under way for `key`, else the one `start` begins. */
  run(key: K, start: () => Promise<V>): Promise<V> {
    const under = this.flights.get(key);
    if (under) return under;
    if (this.flights.size >= this.max) return start();
    const flight = start().finally(() => this.flights.delete(key));
    this.flights.set(key, flight);
    return flight;
  }

  /** Flights under way. */
  get size(): number {
    return this.flights.size;
  }
}
