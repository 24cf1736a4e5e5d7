/**
 * @module artifacts/paths
 * Artifact paths are relative, POSIX-style, and confined to the store's root. Anything that could
 * escape it (`..` segments, absolute paths, NUL bytes, backslashes) is refused rather than cleaned,
 * so a caller never writes somewhere other than what it asked for. A segment longer than file
 * systems allow (255 bytes) is refused up front rather than failing in the write.
 */
import { KeelError } from '../core/index.js';

/** The longest file or folder name ext4, XFS, APFS and NTFS all take, in UTF-8 bytes. */
export const MAX_SEGMENT_BYTES = 255;

/**
 * Normalizes a relative artifact path: collapses `.` and repeated slashes, strips a trailing slash.
 * The empty string means the root.
 * @throws KeelError INVALID_PARAMETER_VALUE for `..`, absolute paths, backslashes, NUL or a
 *   segment over 255 bytes.
 */
export function normalizeArtifactPath(path: string): string {
  if (path.includes('\0'))
    throw new KeelError('INVALID_PARAMETER_VALUE', 'Artifact path contains a NUL byte');
  if (path.includes('\\')) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `Artifact path '${path}' contains a backslash`);
  }
  if (path.startsWith('/') || /^[a-zA-Z]:/.test(path)) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `Artifact path '${path}' must be relative, not absolute`);
  }
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      throw new KeelError('INVALID_PARAMETER_VALUE', `Artifact path '${path}' must not contain '..'`);
    }
    if (Buffer.byteLength(part) > MAX_SEGMENT_BYTES) {
      throw new KeelError(
        'INVALID_PARAMETER_VALUE',
        `Artifact path segment '${part.slice(0, 40)}...' is longer than ${MAX_SEGMENT_BYTES} bytes`,
      );
    }
    parts.push(part);
  }
  return parts.join('/');
}

export const joinArtifactPath = (...parts: string[]): string =>
  normalizeArtifactPath(parts.filter((p) => p !== '').join('/'));
