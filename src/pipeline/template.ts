/**
 * @module pipeline/template
 * `${...}` templating as DVC's `dvc/parsing` does it: values come from `params.yaml` and `vars`
 * (nested mappings merge; a leaf defined twice is refused); a string that is one whole `${x}`
 * takes x's value with its type, a `${x}` inside text is written as Python's `str(x)` (`true`
 * for booleans, `--key value` flags for a mapping in `cmd`); keys of mappings are interpolated too;
 * `\${` escapes. Values read from a file are remembered per file (`tracked`), as DVC tracks them
 * for `params show/diff`; they are not stage params.
 */
import { KeelError } from '../core/index.js';
import { isDict, isList, PyDict, PyFloat, type PyKey, type PyValue, pyStr } from './pyvalue.js';

const EXPR = /(?<!\\)\$\{(.*?)\}/gs;

/** True when `s` holds a `${...}` (not escaped). */
export const isInterpolated = (s: unknown): boolean =>
  typeof s === 'string' && new RegExp(EXPR.source, 's').test(s);

const isPrimitive = (v: PyValue) => v === null || !(isDict(v) || isList(v));

function escapeArg(s: string): string {
  // shlex.quote, as DVC's escape_str does for flags built from a mapping.
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'"'"'`)}'`;
}

function flattenDots(d: PyDict, prefix = '', out: Array<[string, PyValue]> = []): Array<[string, PyValue]> {
  for (const [k, v] of d) {
    const key = prefix ? `${prefix}.${pyStr(k as PyValue)}` : pyStr(k as PyValue);
    if (isDict(v) && v.size > 0) flattenDots(v, key, out);
    else out.push([key, v]);
  }
  return out;
}

/** DVC's `to_str`: how a value is written inside text. */
export function toStr(v: PyValue, where: string): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (!isDict(v)) return pyStr(v);
  let result = '';
  for (const [k, x] of flattenDots(v)) {
    if (typeof x === 'boolean') {
      if (x) result += `--${k} `;
    } else if (typeof x === 'string') result += `--${k} ${escapeArg(x)} `;
    else if (isList(x)) {
      x.forEach((item, n) => {
        if (isList(item) || isDict(item)) {
          throw new KeelError(
            'INVALID_PARAMETER_VALUE',
            `${where}: Cannot interpolate nested iterable in '${k}'`,
          );
        }
        const text = typeof item === 'string' ? escapeArg(item) : pyStr(item);
        result += n > 0 ? `${text} ` : `--${k} ${text} `;
      });
    } else result += `--${k} ${pyStr(x)} `;
  }
  return result.trimEnd();
}

function typeName(v: PyValue): string {
  if (isDict(v)) return 'dict';
  if (isList(v)) return 'list';
  if (v instanceof PyFloat) return 'float';
  return typeof v;
}

/** The values `${...}` can refer to, and which file each came from. */
export class TemplateContext {
  /** source file -> dotted key -> value, for keys read while resolving. */
  readonly tracked = new Map<string, Map<string, PyValue>>();

  private constructor(
    private readonly data: PyDict,
    /** top-level key -> the file it came from (undefined for inline vars and locals). */
    private readonly sources: Map<PyKey, string | undefined>,
    /** Files loaded whole, so listing them again is no redefinition. */
    private readonly imported: Set<string>,
  ) {}

  static empty(): TemplateContext {
    return new TemplateContext(new PyDict(), new Map(), new Set());
  }

  /** True when `key` is already defined at the top level. */
  has(key: string): boolean {
    return this.data.has(key);
  }

  /**
   * A context with `vars` merged in (nested mappings merge key by key).
   * @param source the file they came from, or undefined for inline vars.
   * @throws KeelError INVALID_PARAMETER_VALUE when a value is already defined (DVC's MergeError).
   */
  withVars(vars: PyDict, source: string | undefined, where: string, wholeFile = false): TemplateContext {
    if (source && wholeFile && this.imported.has(source)) return this;
    const data = cloneDict(this.data);
    const sources = new Map(this.sources);
    const merge = (into: PyDict, update: PyDict, path: string[]) => {
      for (const [k, v] of update) {
        const existing = into.get(k);
        if (isDict(existing) && isDict(v)) merge(existing, v, [...path, pyStr(k as PyValue)]);
        else if (into.has(k)) {
          const key = [...path, pyStr(k as PyValue)].join('.');
          const first = sources.get(path.length ? path[0] : k);
          throw new KeelError(
            'INVALID_PARAMETER_VALUE',
            `${where}: cannot redefine '${key}'${source ? ` from '${source}'` : ''} as it already exists${first ? ` in '${first}'` : ''}`,
          );
        } else into.set(k, isDict(v) ? cloneDict(v) : v);
      }
    };
    merge(data, vars, []);
    for (const k of vars.keys()) if (!sources.has(k)) sources.set(k, source);
    const imported = new Set(this.imported);
    if (source && wholeFile) imported.add(source);
    return new TemplateContext(data, sources, imported);
  }

  /** The same values with a fresh record of tracked keys: one per stage. */
  fork(): TemplateContext {
    return new TemplateContext(this.data, this.sources, this.imported);
  }

  /** A context for one `foreach`/`matrix` iteration: `item` (and `key`) shadow what is there. */
  withLocals(locals: Record<string, PyValue>): TemplateContext {
    const data = new PyDict(this.data);
    const sources = new Map(this.sources);
    for (const [k, v] of Object.entries(locals)) {
      data.set(k, v);
      sources.set(k, undefined);
    }
    return new TemplateContext(data, sources, this.imported);
  }

  private select(expr: string, where: string): PyValue {
    const inner = expr.trim();
    if (!inner) throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: expected a non-empty expression`);
    const parts = inner.replace(/\[(\d+)\]/g, '.$1').split('.');
    let cur: PyValue = this.data;
    for (const raw of parts) {
      const part = raw.trim();
      let next: PyValue | undefined;
      if (isDict(cur))
        next = cur.has(part) ? cur.get(part) : /^-?\d+$/.test(part) ? cur.get(Number(part)) : undefined;
      else if (isList(cur) && /^-?\d+$/.test(part)) {
        const i = Number(part);
        next = cur[i < 0 ? cur.length + i : i];
      }
      if (next === undefined)
        throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: Could not find '${inner}'`);
      cur = next;
    }
    const file = this.sources.get(parts[0].trim());
    if (file) {
      const keys = this.tracked.get(file) ?? new Map<string, PyValue>();
      keys.set(parts.map((p) => p.trim()).join('.'), cur);
      this.tracked.set(file, keys);
    }
    return cur;
  }

  /** Resolves one string: a whole `${x}` keeps x's type; otherwise text. */
  resolveString(value: string, where: string, key?: string): PyValue {
    const matches = [...value.matchAll(new RegExp(EXPR.source, 'gs'))];
    if (matches.length === 0) return value.replaceAll('\\${', '${');
    const check = (v: PyValue) => {
      if (!isPrimitive(v) && key !== undefined && !key.includes('foreach') && !(isDict(v) && key === 'cmd')) {
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `${where}: Cannot interpolate data of type '${typeName(v)}'`,
        );
      }
      return v;
    };
    if (matches.length === 1 && matches[0][0] === value) return check(this.select(matches[0][1], where));
    let out = '';
    let last = 0;
    for (const m of matches) {
      out += value.slice(last, m.index);
      out += toStr(check(this.select(m[1], where)), where);
      last = m.index! + m[0].length;
    }
    return (out + value.slice(last)).replaceAll('\\${', '${');
  }

  /**
   * Fills every `${...}` in `value` (strings, lists, and mapping keys and values, recursively).
   * @param key the stage field being resolved (`cmd` may take a mapping as flags).
   * @throws KeelError INVALID_PARAMETER_VALUE for an undefined name or a list/mapping inside text.
   */
  resolve(value: PyValue, where: string, key?: string): PyValue {
    if (typeof value === 'string') return this.resolveString(value, where, key);
    if (isList(value)) return value.map((v) => this.resolve(v, where, key));
    if (isDict(value)) {
      const out = new PyDict();
      for (const [k, v] of value) {
        const rk = typeof k === 'string' ? this.resolve(k, where, key) : k;
        if (isList(rk) || isDict(rk)) {
          throw new KeelError(
            'INVALID_PARAMETER_VALUE',
            `${where}: a key cannot be interpolated to a ${typeName(rk)}`,
          );
        }
        out.set(rk as PyKey, this.resolve(v, where, key));
      }
      return out;
    }
    return value;
  }
}

function cloneDict(d: PyDict): PyDict {
  return new PyDict([...d].map(([k, v]): [PyKey, PyValue] => [k, isDict(v) ? cloneDict(v) : v]));
}
