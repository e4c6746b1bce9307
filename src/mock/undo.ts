// Copy-on-write undo for one write callback. The store promises that a callback that throws
// leaves the state as it was. Deep-copying the whole state before every write kept that promise
// but cost ~44 ms per write at 5,000 agents (bench/bulk spent most of its time there). Instead,
// the callback sees the state through proxies that copy an entry the first time anything under
// it is changed: the cost is proportional to what a write touches, not to the tenant's size.
//
// Granularity: a top-level array or primitive of the state is one unit; a top-level map (e.g.
// `objects`, keyed by id) is undone entry by entry. Values written through the proxies are
// unwrapped, so the state never ends up holding a proxy.

const TARGET = Symbol('undo.target');

type Container = Record<string | symbol, unknown>;
interface UndoEntry {
  container: Container;
  key: string | symbol;
  had: boolean;
  value: unknown;
}

function isObject(v: unknown): v is object {
  return typeof v === 'object' && v !== null;
}

/** The real object behind a proxy, and proxies inside new values replaced by their targets. */
function unwrapDeep(v: unknown): unknown {
  if (!isObject(v)) return v;
  const target = (v as Container)[TARGET];
  if (target) return target;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = unwrapDeep(v[i]);
  } else {
    for (const k of Object.keys(v)) (v as Container)[k] = unwrapDeep((v as Container)[k]);
  }
  return v;
}

/**
 * `touched` (issue 11, the served store's write-ahead log): called once the callback succeeded,
 * with the path of every unit it changed (['objects', id], ['tenant'], …), so that the caller can
 * log their new values.
 */
export function runWithUndo<S extends object, T>(state: S, fn: (s: S) => T, touched?: (paths: string[][]) => void): T {
  const undo: UndoEntry[] = [];
  const snapshotted = new Set<string>();
  const proxies = new WeakMap<object, object>();

  // `byReference`: a top-level map being replaced keeps its original object, whose entries the
  // earlier undo records (restored after it, newest first) put back as they were; a copy taken
  // now would already hold this callback's changes to those entries.
  const snapshot = (container: Container, key: string | symbol, id: string, byReference = false) => {
    if (snapshotted.has(id)) return;
    snapshotted.add(id);
    const had = Object.prototype.hasOwnProperty.call(container, key);
    undo.push({ container, key, had, value: had ? (byReference ? container[key] : structuredClone(container[key])) : undefined });
  };
  const isMapUnit = (v: unknown) => isObject(v) && !Array.isArray(v);

  // Every object below one unit shares that unit's `touch`: the state is a tree, so an object
  // is reached through exactly one unit.
  const deep = (target: object, touch: () => void): object => {
    const cached = proxies.get(target);
    if (cached) return cached;
    const proxy = new Proxy(target, {
      get(t, k) {
        if (k === TARGET) return t;
        const v = Reflect.get(t, k, t);
        return isObject(v) ? deep(v, touch) : v;
      },
      set(t, k, v) {
        touch();
        return Reflect.set(t, k, unwrapDeep(v), t);
      },
      deleteProperty(t, k) {
        touch();
        return Reflect.deleteProperty(t, k);
      },
      defineProperty(t, k, d) {
        touch();
        return Reflect.defineProperty(t, k, 'value' in d ? { ...d, value: unwrapDeep(d.value) } : d);
      },
    });
    proxies.set(target, proxy);
    return proxy;
  };

  const mapProxy = (map: Container, unit: string): object => {
    const cached = proxies.get(map);
    if (cached) return cached;
    const proxy = new Proxy(map, {
      get(m, k) {
        if (k === TARGET) return m;
        const v = m[k];
        return isObject(v) ? deep(v, () => snapshot(m, k, `${unit}\u0000${String(k)}`)) : v;
      },
      set(m, k, v) {
        snapshot(m, k, `${unit}\u0000${String(k)}`);
        m[k] = unwrapDeep(v);
        return true;
      },
      deleteProperty(m, k) {
        snapshot(m, k, `${unit}\u0000${String(k)}`);
        return Reflect.deleteProperty(m, k);
      },
    });
    proxies.set(map, proxy);
    return proxy;
  };

  const root = new Proxy(state as Container, {
    get(t, k) {
      if (k === TARGET) return t;
      const v = t[k];
      if (!isObject(v)) return v;
      const unit = `root\u0000${String(k)}`;
      return Array.isArray(v) ? deep(v, () => snapshot(t, k, unit)) : mapProxy(v as Container, unit);
    },
    set(t, k, v) {
      snapshot(t, k, `root\u0000${String(k)}`, isMapUnit(t[k]));
      t[k] = unwrapDeep(v);
      return true;
    },
    deleteProperty(t, k) {
      snapshot(t, k, `root\u0000${String(k)}`, isMapUnit(t[k]));
      return Reflect.deleteProperty(t, k);
    },
  }) as S;

  try {
    const result = fn(root);
    touched?.([...snapshotted].map((id) => id.split('\u0000').slice(1)));
    return result;
  } catch (err) {
    // Newest first, so a unit replaced after its entries were changed comes back last.
    for (let i = undo.length - 1; i >= 0; i--) {
      const u = undo[i]!;
      if (u.had) u.container[u.key] = u.value;
      else delete u.container[u.key];
    }
    throw err;
  }
}
