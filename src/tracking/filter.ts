/**
 * @module tracking/filter
 * MLflow's search filter language: `metrics.auc > 0.8 and params.model = 'gbdt'`, clauses joined
 * by AND (MLflow has no OR), identifiers `type.key` where a key may be quoted with backticks or
 * double quotes, values as numbers or quoted strings, and the comparators `= != <> > >= < <= LIKE
 * ILIKE IN NOT IN IS NULL IS NOT NULL`. A bare name (`status`, `name`) is an attribute.
 */
import { KeelError, own } from '../core/index.js';

export type EntityType = 'metric' | 'param' | 'tag' | 'attribute' | 'dataset';
export type Comparator =
  | '='
  | '!='
  | '>'
  | '>='
  | '<'
  | '<='
  | 'LIKE'
  | 'ILIKE'
  | 'IN'
  | 'NOT IN'
  | 'IS NULL'
  | 'IS NOT NULL';

export interface Clause {
  type: EntityType;
  key: string;
  comparator: Comparator;
  /** A number, a string, a list of strings (IN), or null (IS [NOT] NULL). */
  value: number | string | string[] | null;
}

const PREFIXES: Record<string, EntityType> = {
  metric: 'metric',
  metrics: 'metric',
  param: 'param',
  params: 'param',
  parameter: 'param',
  parameters: 'param',
  tag: 'tag',
  tags: 'tag',
  attribute: 'attribute',
  attributes: 'attribute',
  attr: 'attribute',
  run: 'attribute',
  dataset: 'dataset',
  datasets: 'dataset',
};

type Token =
  | { kind: 'ident'; text: string }
  | { kind: 'string'; text: string }
  | { kind: 'number'; value: number }
  | { kind: 'op'; text: string }
  | { kind: 'punct'; text: '(' | ')' | ',' | '.' };

const fail = (filter: string, why: string): KeelError =>
  new KeelError('INVALID_PARAMETER_VALUE', `Invalid filter '${filter}': ${why}`);

function tokenize(filter: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      let text = '';
      while (j < filter.length && filter[j] !== c) text += filter[j++];
      if (j >= filter.length) throw fail(filter, `unterminated ${c} quote`);
      // Backticks always quote a name; quotes after a dot are a quoted key (metrics."my key").
      const prev = tokens[tokens.length - 1];
      const quotedName = c === '`' || (prev?.kind === 'punct' && prev.text === '.');
      tokens.push(quotedName ? { kind: 'ident', text } : { kind: 'string', text });
      i = j + 1;
    } else if (/[-+\d]/.test(c) && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/.test(filter.slice(i))) {
      const m = filter.slice(i).match(/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?/)!;
      tokens.push({ kind: 'number', value: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = filter.slice(i).match(/^[A-Za-z_][\w\-:/]*/)!;
      tokens.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if ('()<>=!,.'.includes(c)) {
      const two = filter.slice(i, i + 2);
      if (['>=', '<=', '!=', '<>', '=='].includes(two)) {
        tokens.push({ kind: 'op', text: two === '<>' ? '!=' : two === '==' ? '=' : two });
        i += 2;
      } else if ('<>='.includes(c)) {
        tokens.push({ kind: 'op', text: c });
        i++;
      } else if (c === '!') {
        throw fail(filter, "'!' must be followed by '='");
      } else {
        tokens.push({ kind: 'punct', text: c as '(' | ')' | ',' | '.' });
        i++;
      }
    } else throw fail(filter, `unexpected character '${c}' at position ${i}`);
  }
  return tokens;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly filter: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  private next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw fail(this.filter, 'it ends too early');
    return t;
  }
  private isWord(t: Token | undefined, word: string): boolean {
    return t?.kind === 'ident' && t.text.toUpperCase() === word;
  }

  parse(): Clause[] {
    const clauses: Clause[] = [this.clause()];
    while (this.peek()) {
      if (!this.isWord(this.next(), 'AND')) {
        throw fail(this.filter, 'clauses must be joined by AND (OR is not supported)');
      }
      clauses.push(this.clause());
    }
    return clauses;
  }

  private identifier(): { type: EntityType; key: string } {
    const first = this.next();
    if (first.kind !== 'ident') throw fail(this.filter, 'expected a name like metrics.auc');
    const dot = this.peek();
    if (dot?.kind === 'punct' && dot.text === '.') {
      this.pos++;
      const type = own(PREFIXES, first.text.toLowerCase());
      if (!type) throw fail(this.filter, `unknown entity type '${first.text}'`);
      const key = this.next();
      if (key.kind !== 'ident') throw fail(this.filter, `expected a key after '${first.text}.'`);
      // Dotted keys (params.optimizer.lr) continue until the comparator.
      let text = key.text;
      while (this.peek()?.kind === 'punct' && (this.peek() as { text: string }).text === '.') {
        this.pos++;
        const more = this.next();
        if (more.kind !== 'ident') throw fail(this.filter, `bad key after '${text}.'`);
        text += `.${more.text}`;
      }
      return { type, key: text };
    }
    return { type: 'attribute', key: first.text };
  }

  private comparator(): Comparator {
    const t = this.next();
    if (t.kind === 'op') return t.text as Comparator;
    if (t.kind === 'ident') {
      const word = t.text.toUpperCase();
      if (word === 'LIKE' || word === 'ILIKE' || word === 'IN') return word;
      if (word === 'NOT' && this.isWord(this.peek(), 'IN')) {
        this.pos++;
        return 'NOT IN';
      }
      if (word === 'IS') {
        if (this.isWord(this.peek(), 'NOT')) {
          this.pos++;
          if (!this.isWord(this.next(), 'NULL')) throw fail(this.filter, 'expected IS NOT NULL');
          return 'IS NOT NULL';
        }
        if (!this.isWord(this.next(), 'NULL')) throw fail(this.filter, 'expected IS NULL');
        return 'IS NULL';
      }
    }
    throw fail(this.filter, `expected a comparator, got '${'text' in t ? t.text : String(t.value)}'`);
  }

  private clause(): Clause {
    const { type, key } = this.identifier();
    const comparator = this.comparator();
    if (comparator === 'IS NULL' || comparator === 'IS NOT NULL')
      return { type, key, comparator, value: null };
    if (comparator === 'IN' || comparator === 'NOT IN') {
      const open = this.next();
      if (open.kind !== 'punct' || open.text !== '(')
        throw fail(this.filter, `${comparator} needs a list: ('a', 'b')`);
      const values: string[] = [];
      for (;;) {
        const v = this.next();
        if (v.kind === 'string') values.push(v.text);
        else if (v.kind === 'number') values.push(String(v.value));
        else throw fail(this.filter, `${comparator} takes quoted values`);
        const sep = this.next();
        if (sep.kind === 'punct' && sep.text === ')') break;
        if (sep.kind !== 'punct' || sep.text !== ',')
          throw fail(this.filter, `expected ',' or ')' in ${comparator} list`);
      }
      return { type, key, comparator, value: values };
    }
    const v = this.next();
    if (v.kind === 'number') return { type, key, comparator, value: v.value };
    if (v.kind === 'string') return { type, key, comparator, value: v.text };
    throw fail(this.filter, `expected a number or a quoted string after ${type}.${key} ${comparator}`);
  }
}

/**
 * Parses a filter string into AND-ed clauses; an empty or blank filter gives [].
 * @throws KeelError INVALID_PARAMETER_VALUE naming the filter and the problem.
 */
export function parseFilter(filter: string | undefined): Clause[] {
  if (!filter || filter.trim() === '') return [];
  return new Parser(filter, tokenize(filter)).parse();
}

export interface OrderBy {
  type: EntityType;
  key: string;
  ascending: boolean;
}

/** Parses `metrics.auc DESC`, `attributes.start_time`, `` params.`a b` ASC ``. Default ascending. */
export function parseOrderBy(text: string): OrderBy {
  const m = text.trim().match(/^(.*?)(?:\s+(ASC|DESC))?$/i);
  const body = m?.[1]?.trim() ?? '';
  if (!body) throw new KeelError('INVALID_PARAMETER_VALUE', `Invalid order_by clause '${text}'`);
  const tokens = tokenize(body);
  const parser = new Parser(body, [...tokens, { kind: 'op', text: '=' }, { kind: 'number', value: 0 }]);
  const [clause] = parser.parse();
  return { type: clause.type, key: clause.key, ascending: (m?.[2] ?? 'ASC').toUpperCase() === 'ASC' };
}
