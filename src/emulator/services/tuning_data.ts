// Parsing tuning datasets in the formats Vertex accepts (Gemini `contents` JSONL) plus the
// prompt/completion and preference-pair JSONL that dataset preparation writes.
import type { Example, PreferencePair } from '../runtime/index.js';

export interface ParsedDataset {
  examples: Example[];
  pairs: PreferencePair[];
  malformed: number;
  firstError: string | null;
  characters: number;
}

function textOf(parts: unknown): string | null {
  if (!Array.isArray(parts)) return null;
  const texts = parts.map((p) => (p && typeof p === 'object' ? (p as { text?: unknown }).text : undefined));
  return texts.every((t) => typeof t === 'string') ? texts.join('') : null;
}

/** One example per line; a line that fits no format is counted, never fatal. */
export function parseDataset(text: string): ParsedDataset {
  const out: ParsedDataset = { examples: [], pairs: [], malformed: 0, firstError: null, characters: 0 };
  const bad = (line: number, why: string) => {
    out.malformed++;
    out.firstError ??= `line ${line}: ${why}`;
  };
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (!line.trim()) continue;
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(line);
    } catch {
      bad(lineNo, 'not valid JSON');
      continue;
    }
    if (Array.isArray(rec.contents)) {
      const user = rec.contents.find((c: any) => c?.role === 'user');
      const model = rec.contents.find((c: any) => c?.role === 'model');
      const input = textOf(user?.parts);
      const output = textOf(model?.parts);
      if (input === null || output === null) bad(lineNo, 'contents needs a user and a model turn with text parts');
      else out.examples.push({ input, output });
    } else if (typeof rec.prompt === 'string' && typeof rec.completion === 'string') {
      out.examples.push({ input: rec.prompt, output: rec.completion });
    } else if (typeof rec.input === 'string' && typeof rec.chosen === 'string' && typeof rec.rejected === 'string') {
      out.pairs.push({ input: rec.input, chosen: rec.chosen, rejected: rec.rejected });
    } else {
      bad(lineNo, 'expected {"contents": [...]}, {"prompt", "completion"} or {"input", "chosen", "rejected"}');
      continue;
    }
    out.characters += line.length;
  }
  return out;
}
