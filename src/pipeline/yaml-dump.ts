/**
 * @module pipeline/yaml-dump
 * YAML written byte for byte as DVC writes `dvc.lock` and run-cache entries: ruamel.yaml's
 * round-trip dumper with block style (`default_flow_style = False`), 2-space indents, sequences
 * not indented under their key, width 80, unicode kept. The emitter below follows ruamel's state
 * machine for the events a lock holds (block mappings and sequences, empty `{}`/`[]`, scalars),
 * including how it picks plain, single- or double-quoted style and where it folds long scalars.
 */
import { KeelError } from '../core/index.js';
import { PyDate, PyDict, PyFloat, type PyValue, pyFloatRepr } from './pyvalue.js';
import { resolvePlain } from './yaml-load.js';

type ScalarTag = 'str' | 'int' | 'float' | 'bool' | 'null' | 'timestamp';
type YamlEvent =
  | { kind: 'scalar'; tag: ScalarTag; value: string }
  | { kind: 'mapStart' | 'mapEnd' | 'seqStart' | 'seqEnd' | 'docEnd' };

interface Analysis {
  empty: boolean;
  multiline: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
  allowDoubleQuoted: boolean;
}

const BREAKS = '\n\x85\u2028\u2029';
const SPACE_OR_BREAK = '\0 \t\r\n\x85\u2028\u2029';
const ESCAPES: Record<string, string> = {
  '\0': '0',
  '\x07': 'a',
  '\x08': 'b',
  '\x09': 't',
  '\x0A': 'n',
  '\x0B': 'v',
  '\x0C': 'f',
  '\x0D': 'r',
  '\x1B': 'e',
  '"': '"',
  '\\': '\\',
  '\x85': 'N',
  '\xA0': '_',
  '\u2028': 'L',
  '\u2029': 'P',
};

function representFloat(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (n === Number.POSITIVE_INFINITY) return '.inf';
  if (n === Number.NEGATIVE_INFINITY) return '-.inf';
  return pyFloatRepr(n).toLowerCase();
}

/** The events ruamel's representer and serializer produce for a value. */
function toEvents(value: PyValue, events: YamlEvent[], root: boolean): void {
  if (value instanceof PyDict) {
    events.push({ kind: 'mapStart' });
    for (const [k, v] of value) {
      toEvents(k as PyValue, events, false);
      toEvents(v, events, false);
    }
    events.push({ kind: 'mapEnd' });
  } else if (Array.isArray(value)) {
    events.push({ kind: 'seqStart' });
    for (const v of value) toEvents(v, events, false);
    events.push({ kind: 'seqEnd' });
  } else if (value === null) events.push({ kind: 'scalar', tag: 'null', value: root ? 'null' : '' });
  else if (typeof value === 'boolean') events.push({ kind: 'scalar', tag: 'bool', value: String(value) });
  else if (typeof value === 'number' || typeof value === 'bigint') {
    if (typeof value === 'number' && !Number.isInteger(value)) {
      throw new KeelError('INTERNAL_ERROR', `A non-integral number ${value} must be a float value`);
    }
    events.push({ kind: 'scalar', tag: 'int', value: String(value) });
  } else if (value instanceof PyFloat)
    events.push({ kind: 'scalar', tag: 'float', value: representFloat(value.value) });
  else if (value instanceof PyDate) events.push({ kind: 'scalar', tag: 'timestamp', value: value.iso });
  else events.push({ kind: 'scalar', tag: 'str', value });
}

function analyzeScalar(scalar: string): Analysis {
  if (!scalar) {
    return {
      empty: true,
      multiline: false,
      allowBlockPlain: true,
      allowSingleQuoted: true,
      allowDoubleQuoted: true,
    };
  }
  const chars = [...scalar];
  let blockIndicators = false;
  let lineBreaks = false;
  let special = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (scalar.startsWith('---') || scalar.startsWith('...')) blockIndicators = true;
  let precededByWhitespace = true;
  let followedByWhitespace = chars.length === 1 || SPACE_OR_BREAK.includes(chars[1]);
  let previousSpace = false;
  let previousBreak = false;
  for (let index = 0; index < chars.length; index++) {
    const ch = chars[index];
    if (index === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) blockIndicators = true;
      if ('?:'.includes(ch) && followedByWhitespace) blockIndicators = true;
      if (ch === '-' && followedByWhitespace) blockIndicators = true;
    } else {
      if (ch === ':' && followedByWhitespace) blockIndicators = true;
      if (ch === '#' && precededByWhitespace) blockIndicators = true;
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    const code = ch.codePointAt(0)!;
    if (!(ch === '\n' || (code >= 0x20 && code <= 0x7e))) {
      const unicode =
        (code === 0x85 ||
          (code >= 0xa0 && code <= 0xd7ff) ||
          (code >= 0xe000 && code <= 0xfffd) ||
          (code >= 0x10000 && code <= 0x10ffff)) &&
        code !== 0xfeff;
      if (!unicode) special = true;
    }
    if (ch === ' ') {
      if (index === 0) leadingSpace = true;
      if (index === chars.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === chars.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = SPACE_OR_BREAK.includes(ch);
    followedByWhitespace = index + 2 >= chars.length || SPACE_OR_BREAK.includes(chars[index + 2]);
  }
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowBlockPlain = false;
  if (breakSpace) allowBlockPlain = allowSingleQuoted = false;
  if (special || spaceBreak) allowBlockPlain = allowSingleQuoted = false;
  if (lineBreaks) allowBlockPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { empty: false, multiline: lineBreaks, allowBlockPlain, allowSingleQuoted, allowDoubleQuoted: true };
}

/** A port of the parts of ruamel.yaml's `Emitter` a lock file needs. */
class Emitter {
  private out: string[] = [];
  private column = 0;
  private whitespace = true;
  private indention = true;
  private noNewline = false;
  private indent: number | null = null;
  private readonly indents: Array<[number | null, boolean]> = [];
  private flowLevel = 0;
  private sequenceContext = false;
  private mappingContext = false;
  private simpleKeyContext = false;
  private readonly states: Array<() => void> = [];
  private state: () => void = () => this.expectDocumentRoot();
  private pos = 0;
  private event!: YamlEvent;
  private analysis: Analysis | null = null;
  private style: string | null = null;
  private readonly bestWidth = 80;
  private readonly bestIndent = 2;

  constructor(private readonly events: YamlEvent[]) {}

  run(): string {
    while (this.pos < this.events.length) {
      this.event = this.events[this.pos++];
      this.state();
    }
    return this.out.join('');
  }

  private get next(): YamlEvent | undefined {
    return this.events[this.pos];
  }

  private increaseIndent(flow: boolean, sequence: boolean, indentless = false): void {
    this.indents.push([this.indent, sequence]);
    if (this.indent === null) this.indent = flow ? null : 0;
    else if (!indentless) this.indent += this.bestIndent;
  }

  private popIndent(): void {
    this.indent = this.indents.pop()![0];
  }

  private expectDocumentRoot(): void {
    this.states.push(() => this.expectDocumentEnd());
    this.expectNode({ root: true });
  }

  private expectDocumentEnd(): void {
    this.writeIndent();
    this.state = () => {
      throw new KeelError('INTERNAL_ERROR', 'YAML emitter: events after the document end');
    };
  }

  private expectNode(ctx: {
    root?: boolean;
    sequence?: boolean;
    mapping?: boolean;
    simpleKey?: boolean;
  }): void {
    this.sequenceContext = ctx.sequence ?? false;
    this.mappingContext = ctx.mapping ?? false;
    this.simpleKeyContext = ctx.simpleKey ?? false;
    const e = this.event;
    if (e.kind === 'scalar') {
      if (this.style === null) this.style = this.chooseScalarStyle();
      this.expectScalar();
    } else if (e.kind === 'seqStart') {
      if (this.flowLevel || this.next?.kind === 'seqEnd') this.expectEmptyFlow('[', ']', true);
      else this.expectBlockSequence();
    } else if (e.kind === 'mapStart') {
      if (this.flowLevel || this.next?.kind === 'mapEnd') this.expectEmptyFlow('{', '}', false);
      else this.expectBlockMapping();
    } else throw new KeelError('INTERNAL_ERROR', `YAML emitter: unexpected ${e.kind}`);
  }

  private expectScalar(): void {
    this.increaseIndent(true, false);
    this.processScalar();
    this.popIndent();
    this.state = this.states.pop()!;
  }

  /** An empty collection: ruamel writes it in flow style, `{}` or `[]`. */
  private expectEmptyFlow(open: string, close: string, sequence: boolean): void {
    const values = this.indents;
    let ind = 0;
    if (values.length >= 2 && values[values.length - 1][1]) {
      ind = (values[values.length - 1][0] ?? 0) + this.bestIndent - this.column - 1;
    }
    this.writeIndicator(' '.repeat(Math.max(0, ind)) + open, true, true);
    this.increaseIndent(true, sequence);
    this.flowLevel++;
    this.state = () => {
      this.popIndent();
      this.flowLevel--;
      this.writeIndicator(close, false);
      if (this.flowLevel === 0) this.writeLineBreak();
      this.state = this.states.pop()!;
    };
  }

  private expectBlockSequence(): void {
    const indentless = this.mappingContext ? !this.indention : false;
    this.increaseIndent(false, true, indentless);
    this.state = () => this.expectBlockSequenceItem(true);
  }

  private expectBlockSequenceItem(first: boolean): void {
    if (!first && this.event.kind === 'seqEnd') {
      this.popIndent();
      this.state = this.states.pop()!;
      this.noNewline = false;
      return;
    }
    this.writeIndent();
    this.writeIndicator('-', true, false, true);
    this.states.push(() => this.expectBlockSequenceItem(false));
    this.expectNode({ sequence: true });
  }

  private expectBlockMapping(): void {
    this.increaseIndent(false, false);
    this.state = () => this.expectBlockMappingKey(true);
  }

  private expectBlockMappingKey(first: boolean): void {
    if (!first && this.event.kind === 'mapEnd') {
      this.popIndent();
      this.state = this.states.pop()!;
      return;
    }
    this.writeIndent();
    if (!this.checkSimpleKey()) {
      throw new KeelError('INTERNAL_ERROR', 'YAML emitter: a mapping key must be a short single-line scalar');
    }
    this.states.push(() => this.expectBlockMappingSimpleValue());
    this.expectNode({ mapping: true, simpleKey: true });
  }

  private expectBlockMappingSimpleValue(): void {
    this.writeIndicator(':', false);
    this.states.push(() => this.expectBlockMappingKey(false));
    this.expectNode({ mapping: true });
  }

  private checkSimpleKey(): boolean {
    const e = this.event;
    if (e.kind !== 'scalar') return false;
    this.analysis ??= analyzeScalar(e.value);
    return e.value.length < 128 && !this.analysis.empty && !this.analysis.multiline;
  }

  private chooseScalarStyle(): string {
    const e = this.event as Extract<YamlEvent, { kind: 'scalar' }>;
    this.analysis ??= analyzeScalar(e.value);
    const implicitPlain = e.tag === 'str' ? resolvePlain(e.value) === 'str' : true;
    if (implicitPlain) {
      if (
        !(this.simpleKeyContext && (this.analysis.empty || this.analysis.multiline)) &&
        !this.flowLevel &&
        this.analysis.allowBlockPlain
      ) {
        return '';
      }
    }
    if (this.analysis.allowDoubleQuoted && (e.value.includes("'") || e.value.includes('\n'))) return '"';
    if (this.analysis.allowSingleQuoted && !(this.simpleKeyContext && this.analysis.multiline)) return "'";
    return '"';
  }

  private processScalar(): void {
    const e = this.event as Extract<YamlEvent, { kind: 'scalar' }>;
    this.analysis ??= analyzeScalar(e.value);
    this.style ??= this.chooseScalarStyle();
    const split = !this.simpleKeyContext;
    if (this.sequenceContext && !this.flowLevel) this.writeIndent();
    if (this.style === '"') this.writeDoubleQuoted(e.value, split);
    else if (this.style === "'") this.writeSingleQuoted(e.value, split);
    else this.writePlain(e.value, split);
    this.analysis = null;
    this.style = null;
  }

  private write(data: string): void {
    this.out.push(data);
  }

  private writeIndicator(
    indicator: string,
    needWhitespace: boolean,
    whitespace = false,
    indention = false,
  ): void {
    const data = this.whitespace || !needWhitespace ? indicator : ` ${indicator}`;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.column += [...data].length;
    this.write(data);
  }

  private writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) {
      if (this.noNewline) this.noNewline = false;
      else this.writeLineBreak();
    }
    if (this.column < indent) {
      this.whitespace = true;
      this.write(' '.repeat(indent - this.column));
      this.column = indent;
    }
  }

  private writeLineBreak(data = '\n'): void {
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
    this.write(data);
  }

  private writeText(data: string): void {
    this.column += [...data].length;
    this.write(data);
  }

  private writeSingleQuoted(text: string, split: boolean): void {
    this.writeIndicator("'", true);
    const chars = [...text];
    let spaces = false;
    let breaks = false;
    let start = 0;
    let end = 0;
    while (end <= chars.length) {
      const ch = end < chars.length ? chars[end] : undefined;
      if (spaces) {
        if (ch === undefined || ch !== ' ') {
          if (
            start + 1 === end &&
            this.column > this.bestWidth &&
            split &&
            start !== 0 &&
            end !== chars.length
          ) {
            this.writeIndent();
          } else this.writeText(chars.slice(start, end).join(''));
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !BREAKS.includes(ch)) {
          if (chars[start] === '\n') this.writeLineBreak();
          for (const br of chars.slice(start, end)) this.writeLineBreak(br === '\n' ? '\n' : br);
          this.writeIndent();
          start = end;
        }
      } else if (ch === undefined || ` ${BREAKS}`.includes(ch) || ch === "'") {
        if (start < end) {
          this.writeText(chars.slice(start, end).join(''));
          start = end;
        }
      }
      if (ch === "'") {
        this.writeText("''");
        start = end + 1;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
      end++;
    }
    this.writeIndicator("'", false);
  }

  private writeDoubleQuoted(text: string, split: boolean): void {
    this.writeIndicator('"', true);
    const chars = [...text];
    let start = 0;
    let end = 0;
    while (end <= chars.length) {
      const ch = end < chars.length ? chars[end] : undefined;
      const code = ch?.codePointAt(0) ?? 0;
      if (
        ch === undefined ||
        '"\\\x85\u2028\u2029\uFEFF'.includes(ch) ||
        !(
          (code >= 0x20 && code <= 0x7e) ||
          (code >= 0xa0 && code <= 0xd7ff) ||
          (code >= 0xe000 && code <= 0xfffd)
        )
      ) {
        if (start < end) {
          this.writeText(chars.slice(start, end).join(''));
          start = end;
        }
        if (ch !== undefined) {
          let data: string;
          if (ch in ESCAPES) data = `\\${ESCAPES[ch]}`;
          else if (code <= 0xff) data = `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
          else if (code <= 0xffff) data = `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`;
          else data = `\\U${code.toString(16).toUpperCase().padStart(8, '0')}`;
          this.writeText(data);
          start = end + 1;
        }
      }
      if (
        end > 0 &&
        end < chars.length - 1 &&
        (ch === ' ' || start >= end) &&
        this.column + (end - start) > this.bestWidth &&
        split
      ) {
        const data = `${chars.slice(start, end).join('')}\\`;
        if (start < end) start = end;
        this.writeText(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (chars[start] === ' ') this.writeText('\\');
      }
      end++;
    }
    this.writeIndicator('"', false);
  }

  private writePlain(text: string, split: boolean): void {
    if (!text) return;
    if (!this.whitespace) this.writeText(' ');
    this.whitespace = false;
    this.indention = false;
    const chars = [...text];
    let spaces = false;
    let breaks = false;
    let start = 0;
    let end = 0;
    while (end <= chars.length) {
      const ch = end < chars.length ? chars[end] : undefined;
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > this.bestWidth && split) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else this.writeText(chars.slice(start, end).join(''));
          start = end;
        }
      } else if (breaks) {
        if (ch === undefined || !BREAKS.includes(ch)) {
          if (chars[start] === '\n') this.writeLineBreak();
          for (const br of chars.slice(start, end)) this.writeLineBreak(br === '\n' ? '\n' : br);
          this.writeIndent();
          this.whitespace = false;
          this.indention = false;
          start = end;
        }
      } else if (ch === undefined || ` ${BREAKS}`.includes(ch)) {
        this.writeText(chars.slice(start, end).join(''));
        start = end;
      }
      if (ch !== undefined) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
      end++;
    }
  }
}

/** A value as DVC's YAML dumper writes it (a mapping at the top, as a lock file is). */
export function dumpYamlPy(value: PyValue): string {
  const events: YamlEvent[] = [];
  toEvents(value, events, true);
  events.push({ kind: 'docEnd' });
  return new Emitter(events).run();
}
