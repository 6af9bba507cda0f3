// Shared helpers for the dataset converter tests: temp dirs inside the allowed roots, JSONL readers,
// and a plain (non-streaming) reference of the SE-Darwin rules to check the streaming one against.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Files } from '../../src/lib/files.js';

export const EXAMPLES = fs.realpathSync(fileURLToPath(new URL('../../examples', import.meta.url)));
export const ARCHIVE = path.join(EXAMPLES, 'se-darwin-archive');
export const HALO_LOG = path.join(EXAMPLES, 'halo-routing.jsonl');
export const HALO_HELDOUT = path.join(EXAMPLES, 'halo-routing-heldout.jsonl');

export function tempDir(prefix = 'vertex-mcp-ds-'): string {
  return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
}

/** Files over local paths only (the clients are only used for gs://). */
export function localFiles(...roots: string[]): Files {
  return new Files(
    null as never,
    roots.map((r) => fs.realpathSync(r)),
  );
}

export function readJsonl<T = any>(file: string): T[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as T);
}

/** (prompt, completion) of a Gemini or prompt/completion line. */
export function pairOf(x: any): [string, string] {
  if (x.contents) return [x.contents[0].parts[0].text, x.contents[1].parts[0].text];
  return [x.prompt, x.completion];
}

export interface ReferenceResult {
  records: number;
  kept: [string, string][];
  below: number;
  duplicate: number;
  bad: number;
}

/** The SE-Darwin rules applied the obvious way: whole files in memory, JSON.parse everything. */
export function referenceSeDarwin(dir: string, threshold: number): ReferenceResult {
  const files = fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(jsonl|json)$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); // Files.list's order
  const res: ReferenceResult = { records: 0, kept: [], below: 0, duplicate: 0, bad: 0 };
  const seen = new Set<string>();
  const one = (o: any) => {
    res.records++;
    if (!o || typeof o !== 'object' || Array.isArray(o)) return void res.bad++;
    const q = o.quality_score;
    if (typeof q !== 'number' || q < 0 || q > 1) return void res.bad++;
    if (q < threshold) return void res.below++;
    let prompt: string | undefined;
    if (typeof o.prompt === 'string' && o.prompt.trim()) prompt = o.prompt;
    else if (typeof o.task === 'string' && o.task.trim()) {
      const r = o.requirements;
      prompt =
        r == null || r === '' || (Array.isArray(r) && !r.length)
          ? o.task
          : `${o.task}\n\nRequirements:\n${Array.isArray(r) ? r.map((x: string) => `- ${x}`).join('\n') : r}`;
    }
    const c = [o.completion, o.best_agent, o.solution].find((v) => v != null && v !== '');
    if (prompt === undefined || c === undefined) return void res.bad++;
    const completion = typeof c === 'string' ? c : JSON.stringify(c);
    const key = JSON.stringify([prompt, completion]);
    if (seen.has(key)) return void res.duplicate++;
    seen.add(key);
    res.kept.push([prompt, completion]);
  };
  for (const f of files) {
    const text = fs.readFileSync(f, 'utf8');
    if (f.endsWith('.json')) {
      const v = JSON.parse(text);
      for (const o of Array.isArray(v) ? v : [v]) one(o);
    } else {
      for (const line of text.split('\n')) {
        if (!line.trim()) continue;
        let o: unknown;
        try {
          o = JSON.parse(line);
        } catch {
          res.records++;
          res.bad++;
          continue;
        }
        one(o);
      }
    }
  }
  return res;
}

/** The published path of `name` (train.jsonl, ...) in a local prepare_dataset output, from its manifest. */
export function pub(output: string, name: string): string {
  const m = JSON.parse(fs.readFileSync(path.join(output, 'manifest.json'), 'utf8'));
  const f = m.files[name];
  if (!f) throw new Error(`${name} is not in ${output}/manifest.json (${Object.keys(m.files).join(', ')})`);
  return f.uri;
}

/** Every entry under a directory, recursively, as sorted relative paths. */
export function tree(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true }).map(String).sort();
}
