/**
 * @module ml/onnx-optimized
 * ONNX Runtime's optimized graph of a model, saved once and opened on later loads with the graph
 * optimizations off, as ONNX Runtime's "offline mode" does: a server (and each of its workers)
 * skips the optimizer at start.
 *
 * Registered files are immutable and verified against the sha256 recorded at registration
 * (registry/files), so the optimized graph is not written beside them: it is a derived file in a
 * cache folder (`<home>/onnx-optimized/`), named after the sha256 of the model bytes it was made
 * from, the optimization level and the ONNX Runtime version that made it; at level 'all', whose
 * layout changes suit one kind of CPU only, also after the machine's architecture and CPU model.
 * A record beside it holds its own sha256, checked before it is opened: a changed or truncated
 * file (or one that does not open) is made again, never served. The cache can be deleted at any time; the next load rebuilds
 * it. Two processes building the same entry at once each write their own temporary file and
 * rename it into place.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
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

let machine: string | undefined;
/** The architecture and CPU model, once per process: `os.cpus()` reads /proc and takes a millisecond or more. */
const machineKey = (): string => {
  machine ??= `${process.arch}-${sha256(Buffer.from(cpus()[0]?.model ?? '')).slice(0, 8)}`;
  return machine;
};

function readRecord(path: string): OptimizedModel | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as OptimizedModel;
  } catch {
    return undefined;
  }
}

/**
 * Opens `model` (path or bytes) with `settings`, from its optimized graph in `cache.dir` when one
 * is there and intact, else optimizing it and saving the graph there for the next load. Without
 * a cache folder, or with optimizations disabled, it is a plain `openOnnxSession`. A caller that
 * knows the model's sha256 (the registry recorded and verified it) gives it as `sourceSha256`.
 * @throws KeelError as `openOnnxSession`. A cache that cannot be written is not an error: the
 *   session is returned without `optimized`.
 */
export async function openCachedSession(
  model: string | Uint8Array,
  settings: SessionSettings = {},
  cache: { dir?: string; sourceSha256?: string } = {},
): Promise<CachedSession> {
  const cacheDir = cache.dir;
  const level = settings.graphOptimizationLevel ?? DEFAULT_SESSION_SETTINGS.graphOptimizationLevel;
  if (!cacheDir || level === 'disabled') return { session: await openOnnxSession(model, settings) };
  const bytes = typeof model === 'string' ? await readFile(model) : model;
  const source = cache.sourceSha256 ?? sha256(bytes);
  const ortVersion = (await loadOrt()).env.versions.common;
  const machine = level === 'all' ? `.${machineKey()}` : '';
  const base = join(cacheDir, `${source}.${level}.ort-${ortVersion}${machine}`);
  const file = `${base}.onnx`;
  const recordPath = `${base}.json`;
  // The saved graph is optimized already: opened with the optimizer off, from the bytes checked.
  const optimizedSettings = { ...settings, graphOptimizationLevel: 'disabled' as const };
  const record = readRecord(recordPath);
  const cached = record && existsSync(file) ? await readFile(file) : undefined;
  if (record && cached && sha256(cached) === record.sha256) {
    // A saved graph this ONNX Runtime cannot open is made again, as a changed one is.
    const session = await openOnnxSession(cached, optimizedSettings).catch(() => undefined);
    if (session) return { session, optimized: { ...record, file, reused: true } };
  }

  const temp = `${file}.${process.pid}.${shortId()}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true });
  } catch {
    return { session: await openOnnxSession(bytes, settings) };
  }
  // ONNX Runtime warns that a graph saved at 'all' suits this machine only: the key says so.
  const session = await openOnnxSession(bytes, settings, {
    optimizedModelFilePath: temp,
    logSeverityLevel: 3,
  });
  try {
    const written = await readFile(temp);
    const made: OptimizedModel = {
      file,
      sha256: sha256(written),
      source_sha256: source,
      graph_optimization_level: level,
      ort_version: ortVersion,
      bytes: written.byteLength,
    };
    renameSync(temp, file);
    writeFileAtomic(recordPath, `${JSON.stringify(made, null, 2)}\n`);
    return { session, optimized: { ...made, reused: false } };
  } catch {
    // Only the saved graph is missing; the next load tries again.
    rmSync(temp, { force: true });
    return { session };
  }
}
