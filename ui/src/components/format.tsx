/** Small display helpers shared by the pages. */
import type { KeyValue } from '../types';

export const time = (ms?: number | string): string =>
  ms === undefined || ms === null || ms === ''
    ? ''
    : new Date(Number(ms)).toISOString().replace('T', ' ').slice(0, 19);

export function duration(start?: number, end?: number): string {
  if (!start || !end) return '';
  const s = (Number(end) - Number(start)) / 1000;
  return s < 60
    ? `${s.toFixed(1)} s`
    : s < 3600
      ? `${(s / 60).toFixed(1)} min`
      : `${(s / 3600).toFixed(1)} h`;
}

export function value(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4).replace(/\.?0+$/, '');
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : JSON.stringify(v);
}

export const tag = (tags: KeyValue[] | undefined, key: string): string | undefined =>
  tags?.find((t) => t.key === key)?.value;

export function Badge({
  kind,
  children,
}: {
  kind?: 'ok' | 'bad' | 'warn';
  children: preact.ComponentChildren;
}) {
  return <mark class={`badge ${kind ?? ''}`}>{children}</mark>;
}

/** A two-column table of keys and values, with a caption for screen readers and the eye. */
export function KeyValues({
  caption,
  rows,
}: {
  caption: string;
  rows: [string, preact.ComponentChildren][];
}) {
  if (rows.length === 0) return <p>No {caption.toLowerCase()}.</p>;
  return (
    <div class="overflow-auto">
      <table class="kv">
        <caption>{caption}</caption>
        <tbody>
          {rows.map(([k, v]) => (
            <tr key={k}>
              <th scope="row">{k}</th>
              <td>{v}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
