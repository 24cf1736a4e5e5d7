/**
 * @module pipeline/expand
 * `foreach`/`do` and `matrix` expansion into `name@key` stages, named as DVC names them: a list of
 * plain values uses the values, a list holding mappings or lists uses indexes, a mapping uses its
 * keys; a matrix joins its values with `-`, writing `<var><index>` for values that are not plain.
 */
import { KeelError } from '../core/index.js';
import type { TemplateContext } from './template.js';

/** One generated stage: its name, its body, and the context that resolves it. */
export interface Expanded {
  name: string;
  body: Record<string, unknown>;
  ctx: TemplateContext;
}

const isComposite = (v: unknown): boolean => v !== null && typeof v === 'object';
const plain = (v: unknown): string => String(v);

/**
 * Expands `foreach: <list|mapping>` with a `do` body.
 * @throws KeelError INVALID_PARAMETER_VALUE when foreach is neither a list nor a mapping.
 */
export function expandForeach(
  name: string,
  foreach: unknown,
  body: Record<string, unknown>,
  ctx: TemplateContext,
  where: string,
): Expanded[] {
  const iterable = ctx.resolve(foreach, where);
  let pairs: Array<[string, unknown]>;
  if (Array.isArray(iterable)) {
    pairs = iterable.some(isComposite)
      ? iterable.map((v, i) => [String(i), v])
      : iterable.map((v) => [plain(v), v]);
  } else if (isComposite(iterable)) {
    pairs = Object.entries(iterable as Record<string, unknown>);
  } else {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: foreach must be a list or a mapping`);
  }
  return pairs.map(([key, item]) => ({
    name: `${name}@${key}`,
    body,
    ctx: ctx.withLocals({ item, key }),
  }));
}

/**
 * Expands a `matrix:` stage into the cartesian product of its variables, in their order.
 * @throws KeelError INVALID_PARAMETER_VALUE when a matrix variable is not a non-empty list.
 */
export function expandMatrix(
  name: string,
  matrix: unknown,
  body: Record<string, unknown>,
  ctx: TemplateContext,
  where: string,
): Expanded[] {
  const resolved = ctx.resolve(matrix, where);
  if (!isComposite(resolved) || Array.isArray(resolved)) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: matrix must be a mapping of lists`);
  }
  let combos: Array<{ parts: string[]; item: Record<string, unknown> }> = [{ parts: [], item: {} }];
  for (const [variable, values] of Object.entries(resolved as Record<string, unknown>)) {
    if (!Array.isArray(values) || values.length === 0) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `${where}: matrix variable '${variable}' must be a non-empty list`,
      );
    }
    combos = combos.flatMap((c) =>
      values.map((v, i) => ({
        parts: [...c.parts, isComposite(v) ? `${variable}${i}` : plain(v)],
        item: { ...c.item, [variable]: v },
      })),
    );
  }
  return combos.map(({ parts, item }) => {
    const key = parts.join('-');
    return { name: `${name}@${key}`, body, ctx: ctx.withLocals({ item, key }) };
  });
}
