// Regenerates the README's tool table from the catalogue (`npm run docs:tools`). A test fails
// when the README and the catalogue disagree, so the table cannot go stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { catalogue, listEntry } from '../src/tools/index.js';

const START = '<!-- tools:start -->';
const END = '<!-- tools:end -->';

export function toolTable(): string {
  const rows = catalogue().map((t) => {
    const props = (listEntry(t).inputSchema.properties ?? {}) as Record<string, unknown>;
    const required = new Set((listEntry(t).inputSchema.required as string[] | undefined) ?? []);
    const inputs = Object.keys(props)
      .map((k) => (required.has(k) ? `\`${k}\`` : `\`${k}?\``))
      .join(', ');
    return `| ${t.toolset} | \`${t.name}\` | ${t.kind} | ${t.description.replace(/\|/g, '\\|')} | ${inputs} |`;
  });
  return [
    START,
    '| toolset | tool | kind | what it does | inputs (`?` = optional) |',
    '|---|---|---|---|---|',
    ...rows,
    END,
  ].join('\n');
}

export function updateReadme(text: string): string {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < 0) throw new Error(`README.md lacks the ${START} ... ${END} markers`);
  return text.slice(0, a) + toolTable() + text.slice(b + END.length);
}

if (process.argv[1]?.endsWith('gen-tool-table.js')) {
  writeFileSync('README.md', updateReadme(readFileSync('README.md', 'utf8')));
  process.stderr.write('README.md tool table updated\n');
}
