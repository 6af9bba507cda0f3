// The dated price table cost figures are computed from. It ships as data (data/prices.json), is
// read on first use (not at import), and can be overridden entry by entry (`--prices FILE`): an
// overriding entry replaces the whole entry and carries its own `as_of` and `source`, so no number
// is ever shown with a date or page it did not come from.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { invalid } from '../errors.js';
import { parseOrThrow } from './validate.js';

const usd = z.number().finite().nonnegative();
const asOf = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');
const dated = {
  as_of: asOf,
  source: z.string().min(1, 'name the pricing page (or contract) this price comes from'),
  note: z.string().optional(),
};

export const MachinePrice = z.strictObject({ usd_per_node_hour: usd, ...dated });
export const AcceleratorPrice = z.strictObject({ usd_per_hour: usd, ...dated });
export const StoragePrice = z.strictObject({ usd_per_gb_month: usd, ...dated });
export const EgressPrice = z.strictObject({ usd_per_gb: usd, ...dated });
export const TokenPrice = z.strictObject({ usd_per_1m_input_tokens: usd, usd_per_1m_output_tokens: usd, ...dated });
export const LocalPrice = z.strictObject({ usd_per_node_hour: usd, usd_per_1m_tokens: usd, ...dated });

export const PriceTable = z.strictObject({
  $comment: z.string().optional(),
  currency: z.literal('USD', 'only USD price tables are supported'),
  region: z.string().min(1),
  as_of: asOf,
  note: z.string().optional(),
  machine_types: z.record(z.string(), MachinePrice),
  accelerators: z.record(z.string(), AcceleratorPrice),
  storage: StoragePrice,
  egress: EgressPrice,
  tokens: z.record(z.string(), TokenPrice),
  local: LocalPrice,
});
export type PriceTable = z.infer<typeof PriceTable>;
export type MachinePrice = z.infer<typeof MachinePrice>;
export type AcceleratorPrice = z.infer<typeof AcceleratorPrice>;
export type TokenPrice = z.infer<typeof TokenPrice>;

/** The tables whose entries an override merges into, entry by entry. */
const KEYED = ['machine_types', 'accelerators', 'tokens'] as const;

let shipped: PriceTable | undefined;

/** Where data/prices.json lives: found by walking up from this module (src/ or dist/src/). */
function shippedPath(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'data', 'prices.json');
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw invalid('the shipped price table data/prices.json is missing from the package');
}

/** The price table that ships with vertex-mcp (read and validated once). */
export function defaultPriceTable(): PriceTable {
  shipped ??= parseTable(readJson(shippedPath()), 'shipped price table data/prices.json');
  return shipped;
}

export interface LoadPriceTableOptions {
  /**
   * The table the given prices override (default: the shipped table). `null` means the given
   * prices are a complete table on their own.
   */
  base?: PriceTable | null;
}

/**
 * A price table from a JSON file path or an object, merged over the shipped table: top-level
 * fields and the `storage`, `egress` and `local` entries are replaced; `machine_types`,
 * `accelerators` and `tokens` are merged by key (each given entry replaces that whole entry).
 * Without an argument, the shipped table. A table that fails validation is an INVALID_ARGUMENT
 * error naming the bad field.
 */
export function loadPriceTable(pathOrObject?: string | object, opts: LoadPriceTableOptions = {}): PriceTable {
  if (pathOrObject === undefined) return opts.base ?? defaultPriceTable();
  const label = typeof pathOrObject === 'string' ? `price table ${pathOrObject}` : 'price table';
  const given = typeof pathOrObject === 'string' ? readJson(pathOrObject) : pathOrObject;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw invalid(`${label}: expected a JSON object`);
  }
  const base = opts.base === undefined ? defaultPriceTable() : opts.base;
  return parseTable(base ? mergeTables(base, given as Record<string, unknown>) : given, label);
}

/** Which entries of `table` differ from the shipped table ("machine_types.n1-standard-2", ...). */
export function overriddenEntries(table: PriceTable, base: PriceTable = defaultPriceTable()): string[] {
  const out: string[] = [];
  for (const key of KEYED) {
    for (const [name, entry] of Object.entries(table[key])) {
      if (JSON.stringify(entry) !== JSON.stringify((base[key] as Record<string, unknown>)[name])) {
        out.push(`${key}.${name}`);
      }
    }
  }
  for (const key of ['storage', 'egress', 'local'] as const) {
    if (JSON.stringify(table[key]) !== JSON.stringify(base[key])) out.push(key);
  }
  return out;
}

function mergeTables(base: PriceTable, over: Record<string, unknown>): unknown {
  const merged: Record<string, unknown> = { ...base, ...over };
  for (const key of KEYED) {
    const o = over[key];
    if (o !== undefined && o !== null && typeof o === 'object' && !Array.isArray(o)) {
      merged[key] = { ...base[key], ...(o as Record<string, unknown>) };
    }
  }
  return merged;
}

function parseTable(input: unknown, label: string): PriceTable {
  return parseOrThrow(
    PriceTable,
    input,
    label,
    'Each price needs its number, as_of (YYYY-MM-DD) and source; see data/prices.json for the shape',
  );
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw invalid(`cannot read price table ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw invalid(`price table ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

// ---- look-ups ----

export type Lookup<T> = { name: string; price: T } | { name: string; price: null; reason: string };

const listKnown = (keys: string[]) => keys.sort().join(', ');

export function machinePrice(table: PriceTable, machineType: string): Lookup<MachinePrice> {
  const name = machineType.trim().toLowerCase();
  const price = table.machine_types[name];
  if (price) return { name, price };
  return {
    name,
    price: null,
    reason: `no price for machine type "${machineType}" in the price table (known: ${listKnown(Object.keys(table.machine_types))}); add it with --prices`,
  };
}

export function acceleratorPrice(table: PriceTable, acceleratorType: string): Lookup<AcceleratorPrice> {
  const name = acceleratorType.trim().toUpperCase();
  const price = table.accelerators[name];
  if (price) return { name, price };
  return {
    name,
    price: null,
    reason: `no price for accelerator "${acceleratorType}" in the price table (known: ${listKnown(Object.keys(table.accelerators))}); add it with --prices`,
  };
}

/**
 * Token prices of a model: "gemini-2.0-flash-001", "publishers/google/models/gemini-2.0-flash" and
 * "gemini-2.0-flash" all find the "gemini-2.0-flash" entry (an exact key wins).
 */
export function tokenPrice(table: PriceTable, model: string): Lookup<TokenPrice> {
  const bare = model
    .trim()
    .replace(/^.*\/models\//, '')
    .replace(/@.*$/, '')
    .toLowerCase();
  for (const name of [bare, bare.replace(/-\d{3}$/, '')]) {
    const price = table.tokens[name];
    if (price) return { name, price };
  }
  return {
    name: bare,
    price: null,
    reason: `no token price for model "${model}" in the price table (known: ${listKnown(Object.keys(table.tokens))}); add it with --prices`,
  };
}
