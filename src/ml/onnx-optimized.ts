/**
 * @module ml/onnx-optimized
 * ONNX Runtime's optimized graph of a model, saved once and opened on later loads, so a server
 * (and each of its workers) skips the graph optimizations at start.
 *
 * Registered files are immutable and verified against the sha256 recorded at registration
 * (registry/files), so the optimized graph is not written beside them: it is a derived file in a
 * cache folder (`<home>/onnx-optimized/`), named after the sha256 of the model bytes it was made
 * from, the optimization level and the ONNX Runtime version that made it. The graph is saved at
 * 'extended' at most, which ONNX Runtime documents as portable; a session at 'all' adds the
 * CPU-specific layout passes when it opens it. A record beside it
 * holds its own sha256, checked before it is opened: a changed or truncated file is made again,
 * never served. The cache can be deleted at any time; the next load rebuilds it. Two processes
 * building the same entry at once each write their own temporary file and rename it into place.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type SessionSettings, shortId, writeFileAtomic } from '../core/index.js';
import { DEFAULT_SESSION_SETTINGS, loadOrt, type OnnxSession, openOnnxSession } from './onnx-session.js';

/** The record kept beside an optimized graph. */
export interface OptimizedModel {
  /** The optimized graph's path. */
  file: string;
  /** Its sha256. */
  sha256: string;
  /** The sha256 of the model bytes it was made from. */
  source_sha256: string;
  graph_optimization_level: string;
  ort_version: string;
  bytes: number;
}

export interface CachedSession {
  session: OnnxSession;
  /** The optimized graph opened or written; undefined when none is kept (no cache, or optimizations off). */
  optimized?: OptimizedModel & { reused: boolean };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function readRecord(path: string): OptimizedModel | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as OptimizedModel;
  } catch {
    return undefined;
  }
}

/**
 * Opens `model` (path or bytes) with `settings`, from its optimized graph in `cacheDir` when one
 * is there and intact, else optimizing it and saving the graph there for the next load. Without
 * a cache folder, or with optimizations disabled, it is a plain `openOnnxSession`.
 * @throws KeelError as `openOnnxSession`. A cache that cannot be written is not an error: the
 *   session is returned without `optimized`.
 */
export async function openCachedSession(
  model: string | Uint8Array,
  settings: SessionSettings = {},
  cacheDir?: string,
): Promise<CachedSession> {
  const level = settings.graphOptimizationLevel ?? DEFAULT_SESSION_SETTINGS.graphOptimizationLevel;
  if (!cacheDir || level === 'disabled') return { session: await openOnnxSession(model, settings) };
  // ONNX Runtime's 'all' adds layout changes for this machine's CPU: the saved graph stops at
  // 'extended' (portable), and the session opened from it applies the rest at load.
  const saved = level === 'all' ? 'extended' : level;
  const bytes = typeof model === 'string' ? await readFile(model) : model;
  const source = sha256(bytes);
  const ortVersion = (await loadOrt()).env.versions.common;
  const base = join(cacheDir, `${source}.${saved}.ort-${ortVersion}`);
  const file = `${base}.onnx`;
  const recordPath = `${base}.json`;
  const record = readRecord(recordPath);
  if (record && existsSync(file) && sha256(await readFile(file)) === record.sha256)
    return { session: await openOnnxSession(file, settings), optimized: { ...record, file, reused: true } };

  const temp = `${file}.${process.pid}.${shortId()}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch {
    return { session: await openOnnxSession(bytes, settings) };
  }
  const writer = await openOnnxSession(
    bytes,
    { ...settings, graphOptimizationLevel: saved },
    { optimizedModelFilePath: temp },
  );
  let made: OptimizedModel | undefined;
  try {
    const written = await readFile(temp);
    made = {
      file,
      sha256: sha256(written),
      source_sha256: source,
      graph_optimization_level: saved,
      ort_version: ortVersion,
      bytes: written.byteLength,
    };
    renameSync(temp, file);
    writeFileAtomic(recordPath, `${JSON.stringify(made, null, 2)}\n`);
  } catch {
    // Only the saved graph is missing; the next load tries again.
    rmSync(temp, { force: true });
    made = undefined;
  }
  if (saved === level) return { session: writer, ...(made ? { optimized: { ...made, reused: false } } : {}) };
  await writer.release();
  return made
    ? { session: await openOnnxSession(file, settings), optimized: { ...made, reused: false } }
    : { session: await openOnnxSession(bytes, settings) };
}
