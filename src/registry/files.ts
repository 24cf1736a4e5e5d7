/**
 * @module registry/files
 * A registered version's files are immutable. The version records the sha256 of every file of its
 * folder (`models/<name>/<version>/`) when it is registered; loading it for serving, batch scoring,
 * the benchmark or the rollback drill verifies them and refuses a changed, missing or extra file.
 * The artifact proxy changes files through `changeArtifacts`: nothing under a
 * registered version's folder, nothing new under `models/`, and deleting the files no version
 * holds (left by a deleted version) takes the policy's `deleteFiles` permission and is audited.
 * Versions registered before files were recorded get their record when the registry opens.
 */
import { type FileDigests, normalizeArtifactPath } from '../artifacts/index.js';
import { isKeelError, KeelError } from '../core/index.js';
import type { SqlExecutor } from '../storage/index.js';
import type { RegistryContext } from './context.js';
import { auditRefusal, requireProtected } from './protection.js';
import { type VersionRow, versionDir } from './rows.js';

/** The root folder of the registry in the artifact store. */
export const MODELS_FOLDER = 'models';

const shortHash = (h: string) => `${h.slice(0, 12)}…`;

/**
 * Checks the version's files against their record.
 * @throws KeelError INVALID_STATE naming each changed, missing or extra file, or when the version
 *   has no record (its folder was gone when records were made).
 */
export async function verifyFiles(ctx: Pick<RegistryContext, 'artifacts'>, row: VersionRow): Promise<void> {
  const what = `Model files of version ${row.version} of '${row.name}'`;
  if (!row.files)
    throw new KeelError(
      'INVALID_STATE',
      `${what} have no record of its files (its folder was missing when Keel recorded them): register the model again`,
    );
  const recorded = JSON.parse(row.files) as FileDigests;
  const folder = versionDir(row);
  // One listing and read of the folder: a missing folder is every file missing.
  const found = await ctx.artifacts.digest(folder).catch((err: unknown): FileDigests => {
    if (isKeelError(err, 'RESOURCE_DOES_NOT_EXIST')) return {};
    throw err;
  });
  const problems: string[] = [];
  for (const [file, hash] of Object.entries(recorded)) {
    if (!Object.hasOwn(found, file)) problems.push(`${file} is missing`);
    else if (found[file] !== hash)
      problems.push(
        `${file} changed (sha256 ${shortHash(hash)} registered, ${shortHash(found[file])} found)`,
      );
  }
  for (const file of Object.keys(found))
    if (!Object.hasOwn(recorded, file)) problems.push(`${file} is not registered with it`);
  if (problems.length > 0)
    throw new KeelError(
      'INVALID_STATE',
      `${what} do not match what was registered: ${problems.join('; ')}. Refusing to load them: restore the files, or register the model as a new version`,
      { details: { problems } },
    );
}

/**
 * A local file with the bytes of the version's file `path` (store path), checked against the
 * sha256 registered for it: the file ONNX Runtime opens is the one verified.
 * @throws INVALID_STATE when its bytes are not the registered ones.
 */
export async function verifiedLocalFile(
  ctx: Pick<RegistryContext, 'artifacts'>,
  row: VersionRow,
  path: string,
): Promise<string> {
  const recorded = row.files ? (JSON.parse(row.files) as FileDigests) : {};
  const rel = path.slice(versionDir(row).length + 1);
  const sha256 = recorded[rel];
  if (sha256 === undefined)
    throw new KeelError(
      'INVALID_STATE',
      `Model file ${rel} of version ${row.version} of '${row.name}' is not registered with it`,
    );
  return ctx.artifacts.localFile(path, sha256);
}

/**
 * Records the files of versions that have no record yet (registered before Keel kept one), each
 * with an audit entry. A version whose folder is gone keeps no record, and refuses to load.
 * @returns how many versions got a record.
 */
export async function recordMissingFiles(ctx: RegistryContext): Promise<number> {
  const rows = await ctx.db.all<VersionRow>('SELECT * FROM model_versions WHERE files IS NULL');
  let recorded = 0;
  for (const row of rows) {
    const folder = versionDir(row);
    if ((await ctx.artifacts.kind(folder)) !== 'folder') continue;
    const files = await ctx.artifacts.digest(folder);
    await ctx.db.transaction(async (tx) => {
      const { changes } = await tx.run(
        'UPDATE model_versions SET files = ? WHERE name = ? AND version = ? AND files IS NULL',
        [JSON.stringify(files), row.name, row.version],
      );
      if (changes === 0) return;
      recorded++;
      await ctx.audit.append(
        {
          ts: ctx.clock.now(),
          actor: ctx.actor.user,
          action: 'files_recorded',
          outcome: 'applied',
          name: row.name,
          version: String(row.version),
          to: Object.keys(files).join(', '),
          reason: 'version registered before Keel recorded the sha256 of model files',
        },
        tx,
      );
    });
  }
  return recorded;
}

/** The folders of registered versions at, inside or above `path` (store-relative, normalized). */
async function registeredFoldersNear(exec: SqlExecutor, path: string): Promise<string[]> {
  // Versions live in models/<model folder>/<version>/: fetch those of the model folder named.
  const parts = path.split('/');
  const prefix = parts.length >= 2 ? `${parts[0]}/${parts[1]}/` : `${MODELS_FOLDER}/`;
  const rows = await exec.all<{ folder: string | null; model_path: string }>(
    'SELECT folder, model_path FROM model_versions WHERE substr(COALESCE(folder, model_path), 1, ?) = ?',
    [[...prefix].length, prefix],
  );
  return rows
    .map(versionDir)
    .filter((f) => f === path || f.startsWith(`${path}/`) || path.startsWith(`${f}/`));
}

/** Whether a registered version's files are in exactly `folder`. */
export async function folderHeld(exec: SqlExecutor, folder: string): Promise<boolean> {
  return (await registeredFoldersNear(exec, folder)).includes(folder);
}

/**
 * Runs an artifact proxy write or delete of `rawPath`, guarding the registry's folder `models/`.
 * A delete there runs inside a registry transaction, so a registration cannot move files into the
 * folder between the check and the delete.
 * @throws KeelError PERMISSION_DENIED for a write under `models/`, for a delete at, inside or above
 *   a registered version's folder, and for a delete of other files there without the policy's
 *   `deleteFiles` permission (that refusal is audited, as is an applied delete).
 */
export async function changeArtifacts(
  ctx: RegistryContext,
  method: 'put' | 'delete',
  rawPath: string,
  apply: () => Promise<void>,
): Promise<void> {
  let path: string;
  try {
    path = normalizeArtifactPath(rawPath);
  } catch {
    return apply(); // the store refuses the path itself, with its own message
  }
  if (path !== '' && path !== MODELS_FOLDER && !path.startsWith(`${MODELS_FOLDER}/`)) return apply();
  if (method === 'put') {
    throw new KeelError(
      'PERMISSION_DENIED',
      `'${path}' is in the registry's folder: model files are written only by registering a version (model-versions/create), and registered files never change`,
    );
  }
  const entry = { action: 'delete_files' as const, name: path.split('/')[1] ?? '', from: path || '/' };
  await auditRefusal(ctx, entry, () =>
    ctx.db.transaction(async (tx) => {
      const held = await registeredFoldersNear(tx, path === '' ? MODELS_FOLDER : path);
      if (held.length > 0) {
        throw new KeelError(
          'PERMISSION_DENIED',
          `'${path || '/'}' holds the files of registered model versions (${held.slice(0, 3).join(', ')}${held.length > 3 ? ', ...' : ''}): registered files are never changed or deleted`,
        );
      }
      requireProtected(ctx, 'deleteFiles', `delete the model files at '${path}'`);
      await apply();
      await ctx.audit.append(
        { ...entry, ts: ctx.clock.now(), actor: ctx.actor.user, outcome: 'applied', reason: '' },
        tx,
      );
    }),
  );
}
