/**
 * @module pipeline/template
 * `${...}` templating as in dvc.yaml: values come from `params.yaml` and `vars`; a string that is
 * one whole `${x}` takes x's value with its type, a `${x}` inside text is written as text. Keys
 * read from a params file are remembered, because DVC tracks them as the stage's params.
 */
import { KeelError } from '../core/index.js';

const EXPR = /(\\)?\$\{\s*([^{}]+?)\s*\}/g;
const WHOLE = /^\$\{\s*([^{}]+?)\s*\}$/;

function splitPath(expr: string): string[] {
  return expr
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .filter((p) => p !== '');
}

function lookup(data: Record<string, unknown>, parts: string[]): { found: boolean; value?: unknown } {
  let cur: unknown = data;
  for (const part of parts) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, part)) return { found: false };
    cur = (cur as Record<string, unknown>)[part];
  }
  return { found: true, value: cur };
}

function asText(value: unknown, expr: string, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new KeelError(
    'INVALID_PARAMETER_VALUE',
    `${where}: cannot interpolate '\${${expr}}' inside text: it is ${value === null ? 'null' : Array.isArray(value) ? 'a list' : 'a mapping'}`,
  );
}

/** The values `${...}` can refer to, and which params-file keys were read. */
export class TemplateContext {
  /** params file -> dotted keys read from it while resolving. */
  readonly tracked = new Map<string, Set<string>>();

  private constructor(
    private readonly data: Record<string, unknown>,
    /** top-level key -> the params file it came from (undefined for inline vars). */
    private readonly sources: Map<string, string | undefined>,
  ) {}

  static empty(): TemplateContext {
    return new TemplateContext({}, new Map());
  }

  /**
   * A context with `vars` added.
   * @throws KeelError INVALID_PARAMETER_VALUE when a key is already defined (as DVC refuses).
   */
  withVars(vars: Record<string, unknown>, source: string | undefined, where: string): TemplateContext {
    const data = { ...this.data };
    const sources = new Map(this.sources);
    for (const [k, v] of Object.entries(vars)) {
      if (Object.hasOwn(data, k)) {
        throw new KeelError(
          'INVALID_PARAMETER_VALUE',
          `${where}: cannot redefine '${k}'${source ? ` from ${source}` : ''}: it is already defined${sources.get(k) ? ` in ${sources.get(k)}` : ''}`,
        );
      }
      data[k] = v;
      sources.set(k, source);
    }
    return new TemplateContext(data, sources);
  }

  /** The same values with a fresh record of tracked keys: one per stage. */
  fork(): TemplateContext {
    return new TemplateContext(this.data, new Map(this.sources));
  }

  /** A context for one `foreach`/`matrix` iteration: `item` and `key` shadow nothing tracked. */
  withLocals(locals: Record<string, unknown>): TemplateContext {
    const ctx = new TemplateContext({ ...this.data, ...locals }, new Map(this.sources));
    for (const k of Object.keys(locals)) ctx.sources.set(k, undefined);
    return ctx;
  }

  private get(expr: string, where: string): unknown {
    const parts = splitPath(expr);
    const { found, value } = lookup(this.data, parts);
    if (!found) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${where}: cannot interpolate '\${${expr}}': '${expr}' is not defined`,
      );
    }
    const file = this.sources.get(parts[0]);
    if (file) {
      const keys = this.tracked.get(file) ?? new Set<string>();
      keys.add(parts.join('.'));
      this.tracked.set(file, keys);
    }
    return value;
  }

  /**
   * Fills every `${...}` in `value` (strings, lists and mappings, recursively).
   * @throws KeelError INVALID_PARAMETER_VALUE for an undefined name or a list/mapping inside text.
   */
  resolve(value: unknown, where: string): unknown {
    if (typeof value === 'string') {
      const whole = WHOLE.exec(value);
      if (whole) return this.get(whole[1], where);
      return value.replace(EXPR, (match, escaped: string | undefined, expr: string) =>
        escaped ? match.slice(1) : asText(this.get(expr, where), expr, where),
      );
    }
    if (Array.isArray(value)) return value.map((v) => this.resolve(v, where));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v, where)]));
    }
    return value;
  }
}
