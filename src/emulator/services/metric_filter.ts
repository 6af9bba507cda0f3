// The subset of the Cloud Monitoring filter language the emulated MetricService understands:
// comparisons joined with AND (or juxtaposed, which Monitoring reads as AND), each
//   <field> = <value> | <field> != <value>
// where <value> is a quoted string ("..." or '...'), a bare word (letters, digits, _ - . / : @),
// or one of starts_with("x"), ends_with("x"), has_substring("x"), one_of("a", "b", ...),
// monitoring.regex.full_match("re"). OR, NOT, parentheses and other operators are refused with
// INVALID_ARGUMENT. Which fields are allowed is decided by the caller (metric_service.ts).
import { invalidArgument } from '../errors.js';

export const FILTER_FUNCTIONS = ['starts_with', 'ends_with', 'has_substring', 'one_of', 'monitoring.regex.full_match'];

export interface Clause {
  /** The field as written, with `labels` / `label` normalised to `labels` (e.g. metric.labels.x). */
  field: string;
  negate: boolean;
  /** Whether a label value satisfies the comparison (negation applied). */
  test: (value: string) => boolean;
  /** For `=` with a literal or one_of: the values it accepts (lets callers narrow a query). */
  exact?: string[];
  /** For `=` with a literal: the literal. */
  literal?: string;
  /** The comparison as written, for messages. */
  text: string;
}

const SUPPORTED_SYNTAX =
  'comparisons <field> = <value> or <field> != <value> joined with AND, where <value> is a quoted string or ' +
  `${FILTER_FUNCTIONS.map((f) => `${f}(...)`).join(', ')}`;

type Token = { t: 'word' | 'string' | 'op' | 'punct'; v: string; at: number };

function tokenize(filter: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < filter.length) {
    const c = filter[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'") {
      let v = '';
      let j = i + 1;
      for (; j < filter.length && filter[j] !== c; j++) {
        if (filter[j] === '\\' && j + 1 < filter.length) j++;
        v += filter[j];
      }
      if (j >= filter.length) throw invalidArgument(`filter: unterminated string starting at offset ${i}`);
      out.push({ t: 'string', v, at: i });
      i = j + 1;
    } else if (c === '!' && filter[i + 1] === '=') {
      out.push({ t: 'op', v: '!=', at: i });
      i += 2;
    } else if (c === '=') {
      out.push({ t: 'op', v: '=', at: i });
      i++;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ t: 'punct', v: c, at: i });
      i++;
    } else {
      const m = /^[A-Za-z0-9_.\-/:@*]+/.exec(filter.slice(i));
      if (!m) throw invalidArgument(`filter: unexpected "${c}" at offset ${i}; supported: ${SUPPORTED_SYNTAX}`);
      out.push({ t: 'word', v: m[0], at: i });
      i += m[0].length;
    }
  }
  return out;
}

function normaliseField(f: string): string {
  return f.replace(/^(metric|resource)\.label\./, '$1.labels.');
}

function compile(fn: string, args: string[], at: number): { test: (v: string) => boolean; exact?: string[] } {
  const one = () => {
    if (args.length !== 1) throw invalidArgument(`filter: ${fn}() takes one string (offset ${at})`);
    return args[0]!;
  };
  switch (fn) {
    case 'starts_with': {
      const a = one();
      return { test: (v) => v.startsWith(a) };
    }
    case 'ends_with': {
      const a = one();
      return { test: (v) => v.endsWith(a) };
    }
    case 'has_substring': {
      const a = one();
      return { test: (v) => v.includes(a) };
    }
    case 'one_of': {
      if (!args.length) throw invalidArgument(`filter: one_of() needs at least one string (offset ${at})`);
      const set = new Set(args);
      return { test: (v) => set.has(v), exact: args };
    }
    case 'monitoring.regex.full_match': {
      let re: RegExp;
      try {
        re = new RegExp(`^(?:${one()})$`);
      } catch (err) {
        throw invalidArgument(`filter: bad regular expression at offset ${at}: ${(err as Error).message}`);
      }
      return { test: (v) => re.test(v) };
    }
    default:
      throw invalidArgument(
        `filter: unsupported function "${fn}" at offset ${at}; supported: ${FILTER_FUNCTIONS.join(', ')}`,
      );
  }
}

/** Parses a filter into its AND-ed comparisons. */
export function parseFilter(filter: string): Clause[] {
  const toks = tokenize(filter ?? '');
  const clauses: Clause[] = [];
  let i = 0;
  const unsupported = (tok: Token | undefined, what: string) =>
    invalidArgument(
      `filter: ${what}${tok ? ` "${tok.v}" at offset ${tok.at}` : ' at the end'} is not supported; supported: ${SUPPORTED_SYNTAX}`,
    );
  while (i < toks.length) {
    let tok = toks[i]!;
    if (tok.t === 'word' && /^(AND)$/i.test(tok.v) && clauses.length) {
      tok = toks[++i]!;
      if (!tok) throw unsupported(undefined, 'a dangling AND');
    }
    if (tok.t === 'word' && /^(OR|NOT)$/i.test(tok.v)) throw unsupported(tok, tok.v.toUpperCase());
    if (tok.t !== 'word' || tok.v.startsWith('-')) throw unsupported(tok, 'the expression');
    const fieldTok = tok;
    const op = toks[i + 1];
    if (op?.t !== 'op') throw unsupported(op, `the operator after "${fieldTok.v}"`);
    const val = toks[i + 2];
    if (!val || (val.t !== 'word' && val.t !== 'string')) throw unsupported(val, `the value of "${fieldTok.v}"`);
    let end = i + 3;
    let compiled: { test: (v: string) => boolean; exact?: string[] };
    let literal: string | undefined;
    if (val.t === 'word' && toks[i + 3]?.t === 'punct' && toks[i + 3]!.v === '(') {
      const args: string[] = [];
      let j = i + 4;
      for (;;) {
        const a = toks[j];
        if (a?.t === 'punct' && a.v === ')' && !args.length) break;
        if (!a || (a.t !== 'string' && a.t !== 'word')) throw unsupported(a, `an argument of ${val.v}()`);
        args.push(a.v);
        const sep = toks[j + 1];
        if (sep?.t === 'punct' && sep.v === ',') j += 2;
        else if (sep?.t === 'punct' && sep.v === ')') {
          j += 1;
          break;
        } else throw unsupported(sep, `the token in ${val.v}()`);
      }
      compiled = compile(val.v, args, val.at);
      end = j + 1;
    } else {
      literal = val.v;
      compiled = { test: (v) => v === val.v, exact: [val.v] };
    }
    const negate = op.v === '!=';
    const base = compiled.test;
    const text = `${fieldTok.v} ${op.v} ${toks
      .slice(i + 2, end)
      .map((t) => (t.t === 'string' ? JSON.stringify(t.v) : t.v))
      .join('')
      .replace(/,/g, ', ')}`;
    clauses.push({
      field: normaliseField(fieldTok.v),
      negate,
      test: negate ? (v) => !base(v) : base,
      ...(negate ? {} : { exact: compiled.exact }),
      ...(negate || literal === undefined ? {} : { literal }),
      text,
    });
    i = end;
  }
  return clauses;
}
