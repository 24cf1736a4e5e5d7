/**
 * Adult lives beside the repository, in ../shared/data (a copy is laid beside CI's clone too);
 * Online Retail ships in examples/churn/data. Suites on Adult run when the file is there; under
 * CI=true a missing file fails.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const SHARED_DATA = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data');

/** The path of `name` in ../shared/data, or undefined (outside CI) when it is absent. */
export function sharedDataFile(name: 'adult.csv.gz'): string | undefined {
  const path = join(SHARED_DATA, name);
  if (existsSync(path)) return path;
  if (process.env.CI === 'true')
    throw new Error(`${path} is missing, and CI=true requires the shared data sets`);
  return undefined;
}
