import { describe, expect, it } from 'vitest';
import { fromJs, PyDict, PyFloat } from '../../src/pipeline/pyvalue.js';
import { dictSha256, runCacheKey } from '../../src/pipeline/run-cache.js';

// Reference values computed once with CPython: sha256(json.dumps(entry, sort_keys=True)) after
// dropping size/nfiles, with outs reduced to their paths for the key (DVC's _get_cache_hash).
const entry = fromJs({
  cmd: 'python train.py',
  deps: [
    { path: 'data/clean', hash: 'md5', md5: 'd8b874c5fa18c32b2d67f73606a1be60.dir', size: 154683, nfiles: 2 },
  ],
  params: { 'params.yaml': { 'train.lr': 0.01, 'train.name': 'café', 'train.tiny': 1e-7 } },
  outs: [{ path: 'model.pkl', hash: 'md5', md5: '2119f7661d49546288b73b5730d76485', size: 975 }],
}) as PyDict;

describe('run cache hashing', () => {
  it('gives the key DVC gives: outs as paths, size and nfiles dropped', () => {
    expect(runCacheKey(entry)).toBe('ac09a4b9246a654d19c5c34601316bde42cda36538de3fcc67fc3a6ce7d501a0');
  });

  it('gives the value DVC gives for the whole entry', () => {
    expect(dictSha256(entry)).toBe('5d4a514db3e601dd3aa89627fc50d15776533959782086379e8da1be77289942');
  });

  it('does not depend on output hashes, only on their paths; a float 1.0 is not the int 1', () => {
    const other = new PyDict(entry);
    other.set('outs', [
      PyDict.of({ path: 'model.pkl', hash: 'md5', md5: '00000000000000000000000000000000' }),
    ]);
    expect(runCacheKey(other)).toBe(runCacheKey(entry));
    expect(dictSha256(other)).not.toBe(dictSha256(entry));
    const asFloat = PyDict.of({
      cmd: 'x',
      params: PyDict.of({ 'params.yaml': PyDict.of({ a: new PyFloat(1) }) }),
    });
    const asInt = PyDict.of({ cmd: 'x', params: PyDict.of({ 'params.yaml': PyDict.of({ a: 1 }) }) });
    expect(dictSha256(asFloat)).not.toBe(dictSha256(asInt));
  });
});
