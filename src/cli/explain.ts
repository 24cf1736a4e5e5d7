/**
 * @module cli/explain
 * Errors a user can act on: a model or version the registry does not have is named with the ones
 * it does have, so the next command can be typed without another lookup. MLflow's own wording
 * stays first (REST clients see it unchanged); the CLI adds the list.
 */
import { type KeelConfig, KeelError, toKeelError } from '../core/index.js';

const MISSING_MODEL = /^Registered Model with name=(.+) not found$/;
const MISSING_VERSION = /^Model Version \(name=(.+), version=(.+)\) not found$/;
const MISSING_ALIAS = /^Registered model alias (.+) not found on model '(.+)'$/;

/** `err` with what exists added when it names a missing model, version or alias; else `err`. */
export async function explainError(err: unknown, config: () => KeelConfig): Promise<unknown> {
  const e = toKeelError(err);
  if (e.code !== 'RESOURCE_DOES_NOT_EXIST') return err;
  const model = MISSING_MODEL.exec(e.message);
  const version = MISSING_VERSION.exec(e.message);
  const alias = MISSING_ALIAS.exec(e.message);
  if (!model && !version && !alias) return err;
  try {
    const { Registry } = await import('../registry/index.js');
    const registry = await Registry.open(config());
    try {
      let known: string;
      if (model) {
        const names = (await registry.models.search({ maxResults: 1000 })).items.map((m) => m.name);
        known = names.length
          ? `registered models: ${names.join(', ')}`
          : 'no model is registered yet: keel models register <name> runs:/<run id>/model';
      } else {
        const name = version ? version[1] : alias![2];
        const found = await registry.models.get(name);
        const versions = (
          await registry.versions.search({
            filter: `name = '${name.replaceAll("'", "''")}'`,
            maxResults: 1000,
          })
        ).items.map((v) => v.version);
        known = version
          ? `versions of ${name}: ${versions.sort((a, b) => Number(a) - Number(b)).join(', ') || 'none'}`
          : `aliases of ${name}: ${found.aliases.map((a) => `@${a.alias}`).join(', ') || 'none'}`;
      }
      return new KeelError(e.code, `${e.message} (${known})`, { cause: e, details: e.details });
    } finally {
      await registry.close();
    }
  } catch {
    return err;
  }
}
