/**
 * A function's answers remembered by key, in a Map that starts over when it
 * holds `max`: a lookup instead of the work on the hot path, and memory that
 * stays bounded whoever picks the keys (a flood of new keys only costs what
 * the function would have cost anyway). For pure functions of their key;
 * an answer that throws is not remembered.
 */
export function boundedMemo<V>(
  fn: (key: string) => V,
  max: number,
): ((key: string) => V) & { size(): number } {
  const answers = new Map<string, V>();
  const memo = (key: string): V => {
    let answer = answers.get(key);
    if (answer === undefined && !answers.has(key)) {
      answer = fn(key);
      if (answers.size >= max) answers.clear();
      answers.set(key, answer);
    }
    return answer as V;
  };
  return Object.assign(memo, { size: () => answers.size });
}
