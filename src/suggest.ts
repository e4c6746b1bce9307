// "Did you mean …": the candidates closest to what was typed, for unknown commands and for names
// that match no object. Damerau-free Levenshtein, plus prefix and substring matches (a user who
// types "agent" for "agent-user" is close, whatever the distance says).

function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** Up to `max` candidates close to `typed`, closest first; none when nothing is close. */
export function closest(typed: string, candidates: readonly string[], max = 3): string[] {
  const t = typed.toLowerCase();
  if (!t) return [];
  const scored = [...new Set(candidates)]
    .map((c) => {
      const l = c.toLowerCase();
      const d = distance(t, l);
      const near = l.startsWith(t) || t.startsWith(l) || (t.length >= 3 && l.includes(t));
      return { c, d: near ? Math.min(d, 1) : d };
    })
    .filter(({ c, d }) => d <= Math.max(1, Math.floor(Math.min(typed.length, c.length) / 3)))
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  return scored.slice(0, max).map((s) => s.c);
}

/** "; did you mean 'a' or 'b'?" or '' (quoted with the given quote). */
export function didYouMean(typed: string, candidates: readonly string[]): string {
  const c = closest(typed, candidates);
  if (!c.length) return '';
  const q = c.map((x) => `'${x}'`);
  return `; did you mean ${q.length === 1 ? q[0] : `${q.slice(0, -1).join(', ')} or ${q[q.length - 1]}`}?`;
}
