// Regenerates the README's flag tables from the flag table in src/flags.ts (`npm run docs:flags`),
// between the <!-- flags:start --> and <!-- flags:end --> markers. A test fails when the README
// and the flag table disagree, so the README cannot go stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { flagsMarkdown } from '../src/flags.js';

export const START = '<!-- flags:start -->';
export const END = '<!-- flags:end -->';

export function flagTable(): string {
  return `${START}\n${flagsMarkdown()}${END}`;
}

export function updateReadme(text: string): string {
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < 0) throw new Error(`README.md lacks the ${START} ... ${END} markers`);
  return text.slice(0, a) + flagTable() + text.slice(b + END.length);
}

if (process.argv[1]?.endsWith('gen-flag-table.js')) {
  if (process.argv.includes('--print')) process.stdout.write(`${flagTable()}\n`);
  else {
    writeFileSync('README.md', updateReadme(readFileSync('README.md', 'utf8')));
    process.stderr.write('README.md flag tables updated\n');
  }
}
