// List query helpers shared by the emulated services: the `filter` expressions (a subset of
// AIP-160, the grammar Vertex AI list calls accept) and `order_by` clauses.
//
// Filter grammar:
//   expression := sequence { "AND" sequence }
//   sequence   := factor { factor }            (juxtaposition is AND, as in AIP-160)
//   factor     := term { "OR" term }           (OR binds tighter than AND, as in AIP-160)
//   term       := [ "NOT" | "-" ] ( "(" expression ")" | comparison )
//   comparison := path ( "=" | "!=" | ":" ) value
//   path       := field [ "." key ]             (key may be quoted: labels."a key")
//   value      := "quoted string" | bare-word | "*"
// Field names are accepted in snake_case or camelCase, like Vertex. Each service declares its
// fields and their kinds, so an unsupported field is rejected before any candidate is looked at.
import { invalidArgument } from './errors.js';
import type { Timestamp } from './util.js';

/** string: `=`, `!=`, `:` (`:*` = set). map: `f.key = v`, `f.key:*`, `f:key`. list: `f:item`. */
export type FieldKind = 'string' | 'map' | 'list';

export type FieldValue = string | string[] | Record<string, string> | undefined;

export interface FilterSchema<T> {
  /** Supported fields by snake_case name. */
  fields: Record<string, FieldKind>;
  /** The value of a supported field of a candidate. */
  resolve(candidate: T, field: string): FieldValue;
}

type Op = '=' | '!=' | ':';
type Node =
  | { kind: 'and' | 'or'; parts: Node[] }
  | { kind: 'not'; inner: Node }
  | { kind: 'cmp'; field: string; key?: string; op: Op; value: string };

type Token = { type: 'word' | 'string' | 'op' | '(' | ')'; text: string };

export const snakeCase = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Compiles a filter; an empty filter matches everything. Syntax errors are INVALID_ARGUMENT. */
export function compileFilter<T>(filter: string | undefined, schema: FilterSchema<T>): (candidate: T) => boolean {
  if (!filter?.trim()) return () => true;
  const fail = (why: string) => invalidArgument(`filter "${filter}": ${why}; supported: ${describeFields(schema)}`);
  const node = new Parser(tokenize(filter, fail), schema, fail).parse();
  return (candidate) => evaluate(node, candidate, schema);
}

function describeFields(schema: FilterSchema<unknown>): string {
  return Object.entries(schema.fields)
    .map(([f, kind]) =>
      kind === 'map'
        ? `${f}.<key>="v", ${f}.<key>:*, ${f}:<key>`
        : kind === 'list'
          ? `${f}:<item>`
          : `${f}="v", ${f}!="v"`,
    )
    .join(', ');
}

function tokenize(src: string, fail: (why: string) => Error): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ type: c, text: c });
      i++;
    } else if (c === '!' && src[i + 1] === '=') {
      tokens.push({ type: 'op', text: '!=' });
      i += 2;
    } else if ('=:<>'.includes(c)) {
      const two = src.slice(i, i + 2);
      const text = two === '<=' || two === '>=' ? two : c;
      tokens.push({ type: 'op', text });
      i += text.length;
    } else if (c === '"' || c === "'") {
      let text = '';
      i++;
      while (i < src.length && src[i] !== c) {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        text += src[i++];
      }
      if (i >= src.length) throw fail('unterminated string');
      i++;
      tokens.push({ type: 'string', text });
    } else {
      const m = /^[^\s()"'=!:<>]+/.exec(src.slice(i));
      if (!m) throw fail(`unexpected "${c}"`);
      tokens.push({ type: 'word', text: m[0] });
      i += m[0].length;
    }
  }
  return tokens;
}

class Parser<T> {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly schema: FilterSchema<T>,
    private readonly fail: (why: string) => Error,
  ) {}

  parse(): Node {
    const node = this.expression();
    if (this.pos < this.tokens.length) throw this.fail(`unexpected "${this.tokens[this.pos]!.text}"`);
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }

  private isWord(text: string): boolean {
    const t = this.peek();
    return t?.type === 'word' && t.text === text;
  }

  private expression(): Node {
    const parts = [this.sequence()];
    while (this.isWord('AND')) {
      this.pos++;
      parts.push(this.sequence());
    }
    return parts.length === 1 ? parts[0]! : { kind: 'and', parts };
  }

  private sequence(): Node {
    const parts = [this.factor()];
    // Juxtaposed terms are ANDed; stop at AND (handled above), ')' or the end.
    for (let t = this.peek(); t && t.type !== ')' && !this.isWord('AND'); t = this.peek()) parts.push(this.factor());
    return parts.length === 1 ? parts[0]! : { kind: 'and', parts };
  }

  private factor(): Node {
    const parts = [this.term()];
    while (this.isWord('OR')) {
      this.pos++;
      parts.push(this.term());
    }
    return parts.length === 1 ? parts[0]! : { kind: 'or', parts };
  }

  private term(): Node {
    const t = this.peek();
    if (!t) throw this.fail('expression ends early');
    if (t.type === 'word' && t.text === 'NOT') {
      this.pos++;
      return { kind: 'not', inner: this.term() };
    }
    if (t.type === 'word' && t.text.startsWith('-') && t.text.length > 1) {
      t.text = t.text.slice(1); // `-a:b` is NOT a:b
      return { kind: 'not', inner: this.term() };
    }
    if (t.type === '(') {
      this.pos++;
      const inner = this.expression();
      if (this.peek()?.type !== ')') throw this.fail('missing ")"');
      this.pos++;
      return inner;
    }
    return this.comparison();
  }

  private comparison(): Node {
    const first = this.tokens[this.pos++]!;
    if (first.type !== 'word') throw this.fail(`expected a field name, got "${first.text}"`);
    const path = first.text;
    const dot = path.indexOf('.');
    const field = snakeCase(dot < 0 ? path : path.slice(0, dot));
    let key = dot < 0 ? undefined : path.slice(dot + 1);
    // labels."a key": the word ends with a dot and the key is the following string.
    if (key === '' && this.peek()?.type === 'string') key = this.tokens[this.pos++]!.text;
    const kind = this.schema.fields[field];
    if (!kind) throw this.fail(`unsupported field "${field}"`);
    const opTok = this.tokens[this.pos++];
    if (opTok?.type !== 'op') throw this.fail(`expected =, != or : after "${path}"`);
    if (!['=', '!=', ':'].includes(opTok.text)) throw this.fail(`operator "${opTok.text}" is not supported`);
    const op = opTok.text as Op;
    const valTok = this.tokens[this.pos++];
    if (valTok?.type !== 'word' && valTok?.type !== 'string') throw this.fail(`expected a value after "${path}${op}"`);
    const value = valTok.text;
    if (kind === 'map' && key === undefined && op !== ':') throw this.fail(`use ${field}.<key>="v" or ${field}:<key>`);
    if (kind !== 'map' && key !== undefined) throw this.fail(`"${field}" has no sub-fields`);
    if (kind === 'list' && op !== ':') throw this.fail(`"${field}" only supports ":" (contains)`);
    return { kind: 'cmp', field, key, op, value };
  }
}

function evaluate<T>(node: Node, candidate: T, schema: FilterSchema<T>): boolean {
  switch (node.kind) {
    case 'and':
      return node.parts.every((p) => evaluate(p, candidate, schema));
    case 'or':
      return node.parts.some((p) => evaluate(p, candidate, schema));
    case 'not':
      return !evaluate(node.inner, candidate, schema);
    case 'cmp': {
      const raw = schema.resolve(candidate, node.field);
      const kind = schema.fields[node.field];
      if (kind === 'list') {
        const items = Array.isArray(raw) ? raw : [];
        return node.value === '*' ? items.length > 0 : items.includes(node.value);
      }
      if (kind === 'map' && node.key === undefined) {
        // `labels:key` tests key existence.
        return typeof raw === 'object' && !Array.isArray(raw) && node.value in raw;
      }
      const map = typeof raw === 'object' && !Array.isArray(raw) ? raw : undefined;
      const value = kind === 'map' ? map?.[node.key!] : typeof raw === 'string' ? raw : undefined;
      if (node.op === ':') return node.value === '*' ? value !== undefined && value !== '' : value === node.value;
      // A missing value compares as the empty string, as unset proto3 fields do.
      return node.op === '=' ? (value ?? '') === node.value : (value ?? '') !== node.value;
    }
  }
}

/** Sort keys of an `order_by` field: a Timestamp, a string or a number. */
export type SortKey = Timestamp | string | number | undefined;

/**
 * Compiles `order_by` ("display_name, create_time desc") into a comparator over the given
 * fields; unknown fields are INVALID_ARGUMENT. Ties keep the input order (Array.sort is stable).
 */
export function compileOrderBy<T>(
  orderBy: string | undefined,
  fields: Record<string, (candidate: T) => SortKey>,
): ((a: T, b: T) => number) | undefined {
  if (!orderBy?.trim()) return undefined;
  const keys = orderBy.split(',').map((clause) => {
    const [rawField = '', dir = 'asc', ...rest] = clause.trim().split(/\s+/);
    const field = snakeCase(rawField);
    const get = fields[field];
    const direction = dir.toLowerCase();
    if (!get || rest.length > 0 || (direction !== 'asc' && direction !== 'desc')) {
      throw invalidArgument(
        `order_by "${orderBy}": cannot order by "${clause.trim()}"; supported fields: ${Object.keys(fields).join(', ')} (optionally followed by " desc")`,
      );
    }
    return { get, sign: direction === 'desc' ? -1 : 1 };
  });
  return (a, b) => {
    for (const { get, sign } of keys) {
      const c = compareKeys(get(a), get(b));
      if (c !== 0) return sign * c;
    }
    return 0;
  };
}

function compareKeys(a: SortKey, b: SortKey): number {
  const norm = (k: SortKey) => (typeof k === 'object' ? Number(k.seconds) * 1e9 + (k.nanos ?? 0) : (k ?? ''));
  const x = norm(a);
  const y = norm(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
