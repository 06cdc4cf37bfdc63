/**
 * A histogram the request path observes in plain numbers — a bucket count,
 * a sum and a count per label set — and prom-client's registry reads as a
 * metric of its own (`getForPromString`/`get` in the shape prom-client's
 * Histogram gives them), so /metrics prints exactly what a prom-client
 * Histogram prints for the same observations (a test compares the two byte
 * for byte). prom-client's `observe` checks and hashes its labels on every
 * call, a bound child's too: two per request, the largest JavaScript function
 * in the gateway's profile (docs/performance.md). Label sets are the caller's
 * bounded ones (request-labels.ts); no exemplars.
 */
import type { Registry } from 'prom-client';

interface Series {
  labels: Record<string, string>;
  /** Observations per bucket (not cumulative), in the buckets' order; the last is above every bound. */
  counts: number[];
  sum: number;
  count: number;
}

interface Value {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
  exemplar?: null;
}

export interface TallyHistogramOptions<L extends string> {
  name: string;
  help: string;
  labelNames?: readonly L[];
  buckets: readonly number[];
  registers?: Registry[];
}

export interface Observer {
  observe(seconds: number): void;
}

export class TallyHistogram<L extends string = never> {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  private readonly labelNames: readonly L[];
  private readonly bounds: readonly number[];
  /** Insertion order is print order, as prom-client's. */
  private series = new Map<string, Series>();
  private readonly children = new Map<string, Observer>();

  constructor(o: TallyHistogramOptions<L>) {
    this.name = o.name;
    this.help = o.help;
    this.labelNames = o.labelNames ?? [];
    this.bounds = [...o.buckets].sort((a, b) => a - b);
    // A histogram without labels shows zeros before anything is observed, as prom-client's does.
    if (this.labelNames.length === 0) this.seriesFor('', {});
    // prom-client's own registry takes any object with a name and get(): its text format is generic.
    for (const registry of o.registers ?? []) registry.registerMetric(this as never);
  }

  /** Observes for the label set with these values, in labelNames' order; the observer is kept and reused. */
  labels(...values: string[]): Observer {
    const key = values.length === 1 ? values[0] : values.join('\n');
    let child = this.children.get(key);
    if (!child) {
      if (values.length !== this.labelNames.length)
        throw new Error(
          `${this.name}: ${this.labelNames.length} label values expected, got ${values.length}`,
        );
      const labels: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i]));
      child = { observe: (seconds) => this.record(this.seriesFor(key, labels), seconds) };
      this.children.set(key, child);
    }
    return child;
  }

  /** For a histogram without labels. */
  observe(seconds: number): void {
    this.record(this.seriesFor('', {}), seconds);
  }

  /** Forgets every series; as prom-client's, even one without labels shows nothing until observed again. */
  reset(): void {
    this.series = new Map();
  }

  getForPromString() {
    const values: Value[] = [];
    for (const s of this.series.values()) {
      let below = 0;
      this.bounds.forEach((le, i) => {
        below += s.counts[i];
        values.push({
          labels: { le },
          value: below,
          metricName: `${this.name}_bucket`,
          exemplar: null,
          sharedLabels: s.labels,
        });
      });
      values.push(
        {
          labels: { le: '+Inf' },
          value: s.count,
          metricName: `${this.name}_bucket`,
          exemplar: null,
          sharedLabels: s.labels,
        },
        {
          labels: {},
          value: s.sum,
          metricName: `${this.name}_sum`,
          exemplar: undefined,
          sharedLabels: s.labels,
        },
        {
          labels: {},
          value: s.count,
          metricName: `${this.name}_count`,
          exemplar: undefined,
          sharedLabels: s.labels,
        },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's `get()`: each value's labels with its series' labels spread in. */
  get() {
    const data = this.getForPromString();
    return {
      ...data,
      values: data.values.map(({ sharedLabels, labels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  private seriesFor(key: string, labels: Record<string, string>): Series {
    let s = this.series.get(key);
    if (!s)
      this.series.set(
        key,
        (s = { labels, counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 }),
      );
    return s;
  }

  private record(s: Series, seconds: number): void {
    if (!Number.isFinite(seconds)) throw new TypeError(`${this.name}: not a number: ${seconds}`);
    let i = 0;
    while (i < this.bounds.length && seconds > this.bounds[i]) i++;
    s.counts[i]++;
    s.sum += seconds;
    s.count++;
  }
}
