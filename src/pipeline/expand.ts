/**
 * @module pipeline/expand
 * `foreach`/`do` and `matrix` expansion into `name@key` stages, named as DVC names them: a list of
 * plain values uses the values (`true`/`false` for booleans), a list holding mappings or lists
 * uses indexes, a mapping uses its keys; a matrix joins its values with `-`, writing
 * `<var><index>` for values that are not plain. `item` is set for every iteration, `key` for
 * mappings and matrices.
 */
import { KeelError } from '../core/index.js';
import { isDict, isList, PyDict, type PyValue } from './pyvalue.js';
import { type TemplateContext, toStr } from './template.js';

/** One generated stage: its name, its body, and the context that resolves it. */
export interface Expanded {
  name: string;
  body: PyDict;
  ctx: TemplateContext;
}

const isComposite = (v: PyValue): boolean => isDict(v) || isList(v);

/**
 * Expands `foreach: <list|mapping>` with a `do` body.
 * @throws KeelError INVALID_PARAMETER_VALUE when foreach is neither a list nor a mapping.
 */
export function expandForeach(
  name: string,
  foreach: PyValue,
  body: PyDict,
  ctx: TemplateContext,
  where: string,
): Expanded[] {
  const iterable = ctx.resolve(foreach, `${where}.foreach`, 'foreach');
  let pairs: Array<[string, PyValue]>;
  if (isList(iterable)) {
    pairs = iterable.some(isComposite)
      ? iterable.map((v, i) => [String(i), v])
      : iterable.map((v) => [toStr(v, where), v]);
  } else if (isDict(iterable)) {
    pairs = [...iterable].map(([k, v]) => [toStr(k as PyValue, where), v]);
  } else {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${where}.foreach: expected list/dictionary`);
  }
  const withKey = isDict(iterable);
  return pairs.map(([key, item]) => ({
    name: `${name}@${key}`,
    body,
    ctx: ctx.withLocals(withKey ? { item, key } : { item }),
  }));
}

/**
 * Expands a `matrix:` stage into the cartesian product of its variables, in their order.
 * @throws KeelError INVALID_PARAMETER_VALUE when a matrix variable is not a list.
 */
export function expandMatrix(
  name: string,
  matrix: PyValue,
  body: PyDict,
  ctx: TemplateContext,
  where: string,
): Expanded[] {
  const resolved = ctx.resolve(matrix, `${where}.matrix`);
  if (!isDict(resolved))
    throw new KeelError('INVALID_PARAMETER_VALUE', `${where}.matrix: expected a mapping of lists`);
  let combos: Array<{ parts: string[]; item: PyDict }> = [{ parts: [], item: new PyDict() }];
  for (const [variable, values] of resolved) {
    if (!isList(values)) {
      throw new KeelError('INVALID_PARAMETER_VALUE', `${where}.matrix: '${String(variable)}' must be a list`);
    }
    combos = combos.flatMap((c) =>
      values.map((v, i) => ({
        parts: [...c.parts, isComposite(v) ? `${String(variable)}${i}` : toStr(v, where)],
        item: new PyDict([...c.item, [variable, v]]),
      })),
    );
  }
  return combos.map(({ parts, item }) => {
    const key = parts.join('-');
    return { name: `${name}@${key}`, body, ctx: ctx.withLocals({ item, key }) };
  });
}
