// Checks of the converters' options: each names the option and what it accepts.
import { invalid } from '../errors.js';
import type { DatasetFormat } from './types.js';

export function checkFraction(name: string, v: unknown, def: number, opts: { max1?: boolean } = {}): number {
  if (v === undefined || v === null) return def;
  const ok = typeof v === 'number' && Number.isFinite(v) && v >= 0 && (opts.max1 ? v <= 1 : v < 1);
  if (!ok) {
    throw invalid(
      `${name} must be a number in [0, ${opts.max1 ? '1]' : '1)'}, got ${JSON.stringify(v)}`,
      `Pass e.g. ${name}: ${def}`,
    );
  }
  return v as number;
}

export function checkInt(name: string, v: unknown, def: number | undefined, min?: number): number | undefined {
  if (v === undefined || v === null) return def;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || (min !== undefined && v < min)) {
    throw invalid(`${name} must be an integer${min !== undefined ? ` >= ${min}` : ''}, got ${JSON.stringify(v)}`);
  }
  return v;
}

export function checkFormat(v: unknown): DatasetFormat {
  if (v === undefined || v === null) return 'gemini';
  if (v !== 'gemini' && v !== 'prompt_completion') {
    throw invalid(`format must be "gemini" or "prompt_completion", got ${JSON.stringify(v)}`);
  }
  return v;
}

export function checkUri(name: string, v: unknown): string {
  if (typeof v !== 'string' || !v.trim()) {
    throw invalid(`${name} is required: a local path inside the allowed roots or a gs:// URI`);
  }
  const s = v.trim();
  if (s.startsWith('gs://') && !/^gs:\/\/[a-z0-9][a-z0-9._-]{1,221}[a-z0-9](\/|$)/.test(s)) {
    throw invalid(`${name} "${s}" is not a valid gs:// URI`, 'Use gs://BUCKET/PATH');
  }
  return s;
}
