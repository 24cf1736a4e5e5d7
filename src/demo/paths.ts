/**
 * @module demo/paths
 * Where the churn example lives: beside `src/` (and `dist/`) in the repository, so the demo finds
 * the same files whether it runs from the sources or the build.
 */
import { fileURLToPath } from 'node:url';

const example = (name: string): string =>
  fileURLToPath(new URL(`../../examples/churn/${name}`, import.meta.url));

/** The files of `examples/churn` the demo reads. */
export const CHURN_EXAMPLE = {
  data: example('data/online_retail.csv.gz'),
  schema: example('online_retail.schema.yaml'),
  features: example('features.ts'),
  labels: example('labels.sql'),
};
