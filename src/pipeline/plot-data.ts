/**
 * @module pipeline/plot-data
 * Reads plots files as rows of named values: CSV, TSV, JSON (a list of records, or a mapping
 * holding one) and YAML, and picks the chart DVC's templates would draw for them.
 */
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { KeelError } from '../core/index.js';

export type Row = Record<string, string | number>;

const cell = (s: string): string | number => (s.trim() !== '' && Number.isFinite(Number(s)) ? Number(s) : s);

function parseDelimited(text: string, sep: string): Row[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) return [];
  const header = lines[0].split(sep).map((h) => h.trim());
  return lines.slice(1).map((line) => {
    const values = line.split(sep);
    return Object.fromEntries(header.map((h, i) => [h, cell(values[i] ?? '')]));
  });
}

/**
 * Parses a plots file's text by its extension.
 * @throws KeelError INVALID_PARAMETER_VALUE when the data holds no list of records.
 */
export function parsePlotRows(text: string, name: string): Row[] {
  const ext = extname(name).toLowerCase();
  if (ext === '.csv') return parseDelimited(text, ',');
  if (ext === '.tsv') return parseDelimited(text, '\t');
  let data: unknown;
  try {
    data = ext === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Plots file ${name} does not parse: ${(err as Error).message}`,
    );
  }
  if (data && !Array.isArray(data) && typeof data === 'object')
    data = Object.values(data).find(Array.isArray);
  if (!Array.isArray(data))
    throw new KeelError('INVALID_PARAMETER_VALUE', `Plots file ${name} holds no list of records`);
  return data as Row[];
}

export type ChartKind = 'confusion' | 'linear';

/** A chart to draw: which columns, and how. */
export interface ChartSpec {
  kind: ChartKind;
  x: string;
  y: string[];
  title: string;
}

/** The chart for a plots file: its dvc.yaml props first, then DVC's usual column names. */
export function chartFor(file: string, rows: Row[], props: Record<string, unknown>): ChartSpec {
  const columns = Object.keys(rows[0] ?? {});
  const template = typeof props.template === 'string' ? props.template : undefined;
  const title = typeof props.title === 'string' ? props.title : file;
  const propX = typeof props.x === 'string' ? props.x : undefined;
  const propY =
    typeof props.y === 'string' ? [props.y] : Array.isArray(props.y) ? (props.y as string[]) : undefined;
  if (
    template?.startsWith('confusion') ||
    (!template && columns.includes('actual') && columns.includes('predicted'))
  ) {
    return { kind: 'confusion', x: propX ?? 'actual', y: propY ?? ['predicted'], title };
  }
  if (!propX && columns.includes('fpr') && columns.includes('tpr'))
    return { kind: 'linear', x: 'fpr', y: ['tpr'], title };
  const x = propX ?? columns[0] ?? 'step';
  const y = propY ?? columns.filter((c) => c !== x && typeof rows[0]?.[c] === 'number');
  return { kind: 'linear', x, y, title };
}
