/**
 * V8 settings the process sets on itself, because no command line carries
 * them: the CLI is started by its shebang, and the gateway runs outside the
 * image too. (What can only be given on the command line, such as the young
 * generation's size, is in the image's ENTRYPOINT; see docs/operations.md.)
 *
 * `--external-memory-accounted-in-global-limit`: on Node 24 (V8 13.6) every
 * 64 MB of Buffers allocated since the last collection starts a full
 * mark-compact, so moving bytes (a tunnel, a large body) spent a quarter to a
 * third of its CPU in the collector. With the flag, Buffer memory counts
 * toward the heap's overall limit instead: fewer collections, a fifth to a
 * quarter less CPU per MB through a tunnel, for about 60 MB more peak RSS
 * under a bulk stream. Plain HTTP does not gain and measured 2–6 % dearer, so
 * `serve` sets it only with tunnels on (docs/performance.md has the A/Bs).
 * Node 20's V8 has no such flag (and no such cost): there, and on any major not
 * measured yet, nothing is set and nothing is printed.
 */
import { setFlagsFromString } from 'node:v8';

/**
 * The Node majors whose V8 has the flags and the costs they remove, as measured: 24, the runtime the image ships
 * and CI runs. A later V8 may drop the flag, and V8 prints "unrecognized flag" to stderr for one it lacks,
 * so a new major is added here once measured, not assumed.
 */
const MEASURED_MAJORS = new Set([24]);
export const BUFFER_GC_FLAG = '--external-memory-accounted-in-global-limit';

/** Sets `flag` where the runtime's major was measured; returns whether it did. */
function setWhereMeasured(flag: string, nodeVersion: string): boolean {
  if (!MEASURED_MAJORS.has(Number(nodeVersion.split('.')[0]))) return false;
  setFlagsFromString(flag);
  return true;
}

/** Sets the flag where the runtime has it; returns whether it did. Call once, before bytes move. */
export function tuneV8ForBulkBytes(nodeVersion: string = process.versions.node): boolean {
  return setWhereMeasured(BUFFER_GC_FLAG, nodeVersion);
}

/**
 * `--heap-growing-percent`: how far the old generation may grow past what the last full collection
 * kept before the next one starts. V8 picks it from how fast the old generation fills, and for a
 * gateway that promotes little it picks its lowest (×1.1–×1.7): a full collection every two seconds
 * or so under load, each marking the whole live heap (code, modules, the cluster state) on the
 * core the requests run on, which is what the c32 tail is made of (docs/performance.md, "The tail
 * at 32 connections"). A fixed ×3 makes them several times rarer, for at most three times the live
 * heap under sustained load. Set once the cluster state is loaded, so start-up (and RSS at ready)
 * keeps V8's own choice. Node 20 is not measured: nothing is set there.
 */
export const HEAP_GROWING_PERCENT = 200;

/** Sets it where measured (Node 24, the image's runtime); returns whether it did. */
export function tuneV8ForSteadyLoad(nodeVersion: string = process.versions.node): boolean {
  return setWhereMeasured(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, nodeVersion);
}
