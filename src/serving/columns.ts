/**
 * @module serving/columns
 * The columns of a model's input tensor [N, F], as serving clients see them (OIP metadata,
 * `keel models show`): name, type, and for a categorical column its categories, whose position is
 * the code the tensor carries. Keel's own models name their columns and categories in the ONNX
 * metadata; a foreign model takes its input names when it has one input per column (skl2onnx
 * with several inputs), else the names of its feature references when they match its width, and
 * is otherwise fed by position only (no columns).
 */
import { META_CATEGORIES, META_FEATURES } from '../ml/index.js';

export interface InputColumn {
  name: string;
  /** `number`, or `category`: a text value from `categories`, fed to the model as its index. */
  type: 'number' | 'category';
  categories?: string[];
}

/** The feature name of a `view:feature` reference. */
const featureOf = (ref: string): string => ref.slice(ref.indexOf(':') + 1);

function parseJson<T>(text: string | undefined): T | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/**
 * The input columns in tensor order; empty when the model can only be fed by position.
 * @param metadata The ONNX model's metadata properties.
 * @param featureRefs The version's feature references (`view:feature`).
 * @param width The tensor's column count, when it is fixed.
 * @param inputNames The model's input names when it takes one input per column.
 */
export function inputColumns(
  metadata: Readonly<Record<string, string>>,
  featureRefs: readonly string[],
  width: number | undefined,
  inputNames?: readonly string[],
): InputColumn[] {
  const named = parseJson<string[]>(metadata[META_FEATURES]);
  const names =
    named && (width === undefined || named.length === width)
      ? named
      : inputNames
        ? [...inputNames]
        : featureRefs.length > 0 && featureRefs.length === width
          ? featureRefs.map(featureOf)
          : [];
  const categories = parseJson<Record<string, string[]>>(metadata[META_CATEGORIES]) ?? {};
  return names.map((name) =>
    Array.isArray(categories[name])
      ? { name, type: 'category', categories: categories[name].map(String) }
      : { name, type: 'number' },
  );
}

/** One line per column for a terminal: `colour  category (blue, green, red)`. */
export function formatColumns(columns: readonly InputColumn[], width: number | undefined): string {
  if (columns.length === 0)
    return `columns: none named: fed by position${width === undefined ? '' : ` (${width} values a row)`}`;
  const pad = Math.max(...columns.map((c) => c.name.length));
  return [
    `columns (${columns.length}, in the input tensor's order; a category's code is its position):`,
    ...columns.map(
      (c) =>
        `  ${c.name.padEnd(pad)}  ${c.type}${c.categories ? ` (${c.categories.map((v) => JSON.stringify(v)).join(', ')})` : ''}`,
    ),
  ].join('\n');
}
