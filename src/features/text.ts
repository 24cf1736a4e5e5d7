/**
 * @module features/text
 * Entity values given as text (the CLI's `--entity key=value`), typed by what the registry
 * declares, never guessed from how the text looks: "00123" stays a string for a string entity.
 */
import { invalid } from '../core/index.js';
import type { ValueType } from './definitions.js';
import { int64FromText, int64Out } from './keys.js';
import type { ResolvedRefs } from './refs.js';

function fromText(type: ValueType, text: string, what: string): unknown {
  switch (type) {
    case 'int64':
      return int64Out(int64FromText(text, what));
    case 'float64': {
      const n = Number(text);
      if (text.trim() === '' || Number.isNaN(n)) throw invalid(`${what} must be a number, got '${text}'`);
      return n;
    }
    case 'bool':
      if (text !== 'true' && text !== 'false') throw invalid(`${what} must be true or false, got '${text}'`);
      return text === 'true';
    default:
      return text;
  }
}

/**
 * Types each column: join keys by their entity, request fields of on-demand views by their
 * declared type; any other column stays text.
 * @throws KeelError INVALID_PARAMETER_VALUE for text that does not fit its type.
 */
export function entitiesFromText(
  refs: ResolvedRefs,
  columns: Readonly<Record<string, readonly string[]>>,
): Record<string, unknown[]> {
  const types = new Map<string, ValueType>();
  for (const { view } of refs.views.values())
    for (const e of view.entities) types.set(e.joinKey, e.valueType);
  for (const { spec } of refs.onDemand) for (const [f, t] of Object.entries(spec.request)) types.set(f, t);
  return Object.fromEntries(
    Object.entries(columns).map(([name, values]) => {
      const type = types.get(name);
      return [name, values.map((v) => (type ? fromText(type, v, `--entity ${name}`) : v))];
    }),
  );
}
