/**
 * @module pipeline/yaml-load
 * YAML and JSON read into Python values as DVC reads them: ruamel.yaml's YAML 1.2 resolver
 * (`010` is the int 10, `1e-05` a float, `yes` a string, `1_000` an int), floats kept apart from
 * ints, ints beyond 2^53 exact, mapping keys typed, merge keys (`<<`) applied.
 */
import { extname } from 'node:path';
import { isAlias, isMap, isScalar, isSeq, type Node, parseDocument } from 'yaml';
import { KeelError } from '../core/index.js';
import { dictGet, PyDate, PyDict, PyFloat, type PyKey, type PyValue, pyInt } from './pyvalue.js';

const BOOL = /^(?:true|True|TRUE|false|False|FALSE)$/;
const FLOAT =
  /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP =
  /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;

/** The tag ruamel's 1.2 resolver gives a plain scalar (resolvers are picked by first character). */
export function resolvePlain(
  text: string,
): 'bool' | 'float' | 'int' | 'null' | 'str' | 'timestamp' | 'other' {
  const first = text[0] ?? '';
  if ('tTfF'.includes(first) && first !== '' && BOOL.test(text)) return 'bool';
  if ('-+0123456789.'.includes(first) && first !== '' && FLOAT.test(text)) return 'float';
  if ('-+0123456789'.includes(first) && first !== '' && INT.test(text)) return 'int';
  if (('~nN'.includes(first) || text === '') && NULL.test(text)) return 'null';
  if ('0123456789'.includes(first) && first !== '' && TIMESTAMP.test(text)) return 'timestamp';
  if (text === '<<' || text === '=') return 'other';
  return 'str';
}

function constructInt(text: string): number | bigint {
  let s = text.replaceAll('_', '');
  let sign = 1n;
  if (s[0] === '-') sign = -1n;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  let value: bigint;
  if (s.startsWith('0b')) value = BigInt(`0b${s.slice(2)}`);
  else if (s.startsWith('0x')) value = BigInt(`0x${s.slice(2)}`);
  else if (s.startsWith('0o')) value = BigInt(`0o${s.slice(2)}`);
  else value = BigInt(s);
  return pyInt(sign * value);
}

function constructFloat(text: string): PyFloat {
  let s = text.replaceAll('_', '').toLowerCase();
  let sign = 1;
  if (s[0] === '-') sign = -1;
  if (s[0] === '-' || s[0] === '+') s = s.slice(1);
  if (s === '.inf') return new PyFloat(sign * Number.POSITIVE_INFINITY);
  if (s === '.nan') return new PyFloat(Number.NaN);
  return new PyFloat(sign * Number(s));
}

function scalarValue(text: string, plain: boolean, tag: string | undefined, where: string): PyValue {
  const kind = tag ? tag.replace(/^tag:yaml\.org,2002:/, '') : plain ? resolvePlain(text) : 'str';
  switch (kind) {
    case 'bool':
      return /^t/i.test(text);
    case 'int':
      if (!INT.test(text))
        throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: '${text}' is not an int`);
      return constructInt(text);
    case 'float':
      if (!FLOAT.test(text) && !INT.test(text))
        throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: '${text}' is not a float`);
      return constructFloat(text);
    case 'null':
      return null;
    case 'timestamp':
      // A date stays a date (written back plain); a date and time is kept as text.
      return /^\d{4}-\d{2}-\d{2}$/.test(text) ? new PyDate(text) : text;
    default:
      return text;
  }
}

function keyOf(v: PyValue, where: string): PyKey {
  if (Array.isArray(v) || v instanceof PyDict) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${where}: a mapping key must be a scalar`);
  }
  return v;
}

/**
 * Parses YAML text into Python values (ruamel's safe loader, YAML 1.2).
 * @throws KeelError INVALID_PARAMETER_VALUE naming `name` when the text is not valid YAML.
 */
export function parseYamlPy(text: string, name: string): PyValue {
  const doc = parseDocument(text, { schema: 'failsafe', uniqueKeys: true, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${name} is not valid YAML: ${doc.errors[0].message}`);
  }
  const convert = (node: unknown): PyValue => {
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return convert(node.resolve(doc));
    if (isScalar(node)) {
      if (node.value === null || node.value === undefined) return null;
      return scalarValue(String(node.value), node.type === 'PLAIN', node.tag, name);
    }
    if (isSeq(node)) return node.items.map(convert);
    if (isMap(node)) {
      const out = new PyDict();
      const merged: PyDict[] = [];
      for (const pair of node.items) {
        const keyNode = pair.key as Node | null;
        if (isScalar(keyNode) && keyNode.type === 'PLAIN' && keyNode.value === '<<' && !keyNode.tag) {
          const source = convert(pair.value);
          for (const m of Array.isArray(source) ? source : [source]) if (m instanceof PyDict) merged.push(m);
          continue;
        }
        out.set(keyOf(convert(keyNode), name), convert(pair.value));
      }
      for (const m of merged) for (const [k, v] of m) if (dictGet(out, k) === undefined) out.set(k, v);
      return out;
    }
    return null;
  };
  return convert(doc.contents);
}

/**
 * Parses JSON into Python values as `json.loads` does: a number with `.` or an exponent is a float.
 * @throws KeelError INVALID_PARAMETER_VALUE naming `name` and the position of the first error.
 */
export function parseJsonPy(text: string, name: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${name} is not valid JSON: ${what} at position ${i}`);
  };
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const literal = (word: string, value: PyValue): PyValue => {
    if (text.startsWith(word, i)) {
      i += word.length;
      return value;
    }
    return fail('unexpected token');
  };
  const str = (): string => {
    i++;
    let out = '';
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') {
        const e = text[i + 1];
        const map: Record<string, string> = {
          '"': '"',
          '\\': '\\',
          '/': '/',
          b: '\b',
          f: '\f',
          n: '\n',
          r: '\r',
          t: '\t',
        };
        if (e === 'u') {
          out += String.fromCharCode(Number.parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else if (e in map) {
          out += map[e];
          i += 2;
        } else fail('bad escape');
      } else out += text[i++];
    }
    if (text[i] !== '"') fail('unterminated string');
    i++;
    return out;
  };
  const value = (): PyValue => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const d = new PyDict();
      ws();
      if (text[i] === '}') {
        i++;
        return d;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a string key');
        const k = str();
        ws();
        if (text[i++] !== ':') fail("expected ':'");
        d.set(k, value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') {
          i++;
          return d;
        } else fail("expected ',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      const a: PyValue[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return a;
      }
      for (;;) {
        a.push(value());
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') {
          i++;
          return a;
        } else fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (c === 't') return literal('true', true);
    if (c === 'f') return literal('false', false);
    if (c === 'n') return literal('null', null);
    if (c === 'N') return literal('NaN', new PyFloat(Number.NaN));
    if (c === 'I') return literal('Infinity', new PyFloat(Number.POSITIVE_INFINITY));
    if (text.startsWith('-Infinity', i)) return literal('-Infinity', new PyFloat(Number.NEGATIVE_INFINITY));
    const m = /^-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 400));
    if (!m) return fail('unexpected token');
    i += m[0].length;
    return m[1] || m[2] ? new PyFloat(Number(m[0])) : pyInt(BigInt(m[0]));
  };
  const out = value();
  ws();
  if (i < text.length) fail('extra data');
  return out;
}

/**
 * Parses a params/metrics file by its extension: `.json` as JSON, anything else as YAML
 * (`.yaml`, `.yml`; DVC reads TOML and Python files too, which Keel does not).
 * @throws KeelError INVALID_PARAMETER_VALUE when the file does not parse or is TOML/Python.
 */
export function parseDataFile(text: string, name: string): PyValue {
  const ext = extname(name).toLowerCase();
  if (ext === '.json') return parseJsonPy(text, name);
  if (ext === '.toml' || ext === '.py') {
    throw new KeelError('INVALID_PARAMETER_VALUE', `${name}: ${ext} params files are not supported by Keel`);
  }
  return parseYamlPy(text, name);
}
