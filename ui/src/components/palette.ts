/** Line colours with at least 4.5:1 contrast on white, in an order that keeps neighbours apart. */
export const COLORS = [
  '#1f6feb',
  '#d1242f',
  '#1a7f37',
  '#9a6700',
  '#8250df',
  '#bf3989',
  '#0a7c86',
  '#57606a',
  '#953800',
  '#116329',
];
