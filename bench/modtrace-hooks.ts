// Module customization hooks (run on Node's loader thread): every URL the ESM loader resolves is
// appended to a log file. Registered by modtrace.ts; the file name arrives as the `data` of register().
import { appendFileSync } from 'node:fs';

let logFile: string | undefined;

export function initialize(data: { logFile?: string } | undefined): void {
  logFile = data?.logFile;
}

type NextResolve = (specifier: string, context: unknown) => Promise<{ url: string }>;

export async function resolve(specifier: string, context: unknown, nextResolve: NextResolve): Promise<unknown> {
  const r = await nextResolve(specifier, context);
  if (logFile) appendFileSync(logFile, `${r.url}\n`);
  return r;
}
