/**
 * @module registry/uri
 * `models:/` URIs: `models:/name/3` (a version), `models:/name@champion` (an alias), and the
 * stage-era `models:/name/Production` (the newest version in that stage).
 */
import { KeelError } from '../core/index.js';
import { parseStage, parseVersion, validateAlias, validateModelName } from './names.js';
import type { Stage } from './types.js';

export type ModelReference =
  | { name: string; kind: 'version'; version: number }
  | { name: string; kind: 'alias'; alias: string }
  | { name: string; kind: 'stage'; stage: Stage };

/** @throws KeelError INVALID_PARAMETER_VALUE for anything but the three `models:/` forms. */
export function parseModelUri(uri: string): ModelReference {
  const m = /^models:\/([^/@]+)(?:\/([^/]+)|@([^/]+))$/.exec(uri);
  if (!m) {
    throw new KeelError(
      'INVALID_PARAMETER_VALUE',
      `Invalid model URI '${uri}': use models:/<name>/<version>, models:/<name>@<alias> or models:/<name>/<stage>`,
    );
  }
  const name = validateModelName(decodeURIComponent(m[1]));
  if (m[3] !== undefined) return { name, kind: 'alias', alias: validateAlias(m[3]) };
  const rest = m[2];
  if (/^\d+$/.test(rest)) return { name, kind: 'version', version: parseVersion(rest) };
  return { name, kind: 'stage', stage: parseStage(rest) };
}
