// The output line of one example, in either dataset format.
import type { DatasetFormat } from './types.js';

/** One example as a JSONL line (with its newline), built by concatenation around JSON.stringify. */
export function exampleLine(format: DatasetFormat, prompt: string, completion: string): string {
  if (format === 'gemini') {
    return `{"contents":[{"role":"user","parts":[{"text":${JSON.stringify(prompt)}}]},{"role":"model","parts":[{"text":${JSON.stringify(completion)}}]}]}\n`;
  }
  return `{"prompt":${JSON.stringify(prompt)},"completion":${JSON.stringify(completion)}}\n`;
}
