// The child process of crash.test.ts: one prepareSeDarwinDataset run (overwrite) into an output,
// printing "start" when the run begins and "done" when it returns. With a commit step as 4th
// argument it kills itself with SIGKILL when the commit reaches that step (a kill -9 exactly there).
import path from 'node:path';
import { type CommitStep, prepareSeDarwinDataset, setCommitHook } from '../../src/lib/datasets/index.js';
import { Files } from '../../src/lib/files.js';

const [input, output, seed, step] = process.argv.slice(2) as [string, string, string, CommitStep | undefined];
if (step) {
  setCommitHook((s) => {
    if (s === step) process.kill(process.pid, 'SIGKILL');
  });
}
const files = new Files(null as never, [path.dirname(input), path.dirname(output)]);
process.stdout.write('start\n');
await prepareSeDarwinDataset(files, { input, output, seed: Number(seed), validation_fraction: 0.25, overwrite: true });
process.stdout.write('done\n');
