// The shipped price table, overrides merged entry by entry, and validation that names the bad field.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  acceleratorPrice,
  defaultPriceTable,
  loadPriceTable,
  machinePrice,
  overriddenEntries,
  tokenPrice,
} from '../../src/lib/monitoring/prices.js';
import { errorOf } from '../helpers.js';

const dated = { as_of: '2026-11-01', source: 'contract 42' };

describe('shipped price table', () => {
  it('is dated, sourced and in USD', () => {
    const t = defaultPriceTable();
    expect(t.currency).toBe('USD');
    expect(t.region).toBe('us-central1');
    expect(t.note).toMatch(/verify before relying on them/i);
    const entries = [
      ...Object.values(t.machine_types),
      ...Object.values(t.accelerators),
      ...Object.values(t.tokens),
      t.storage,
      t.egress,
      t.local,
    ];
    for (const e of entries) {
      expect(e.as_of).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(e.source.length).toBeGreaterThan(0);
    }
    for (const e of [...Object.values(t.machine_types), ...Object.values(t.accelerators)]) {
      expect(e.source).toBe('https://cloud.google.com/vertex-ai/pricing');
    }
    for (const e of Object.values(t.tokens)) {
      expect(e.source).toBe('https://cloud.google.com/vertex-ai/generative-ai/pricing');
    }
  });

  it('covers the machine types, accelerators and models agents use', () => {
    const t = defaultPriceTable();
    for (const m of [
      'n1-standard-2',
      'n1-standard-4',
      'n1-standard-8',
      'n2-standard-4',
      'e2-standard-4',
      'g2-standard-8',
    ]) {
      expect(t.machine_types[m]?.usd_per_node_hour).toBeGreaterThan(0);
    }
    for (const a of ['NVIDIA_TESLA_T4', 'NVIDIA_L4', 'NVIDIA_TESLA_A100']) {
      expect(t.accelerators[a]?.usd_per_hour).toBeGreaterThan(0);
    }
    for (const m of ['gemini-2.5-pro', 'gemini-2.5-flash', 'gemini-2.0-flash']) {
      expect(t.tokens[m]?.usd_per_1m_output_tokens).toBeGreaterThan(t.tokens[m]!.usd_per_1m_input_tokens);
    }
    expect(t.local.usd_per_node_hour).toBe(0);
    expect(t.local.usd_per_1m_tokens).toBe(0);
    expect(t.local.note).toMatch(/emulator/);
    expect(loadPriceTable()).toBe(t);
  });
});

describe('loadPriceTable overrides', () => {
  it('replaces whole entries and keeps the rest', () => {
    const t = loadPriceTable({
      machine_types: { 'n1-standard-2': { usd_per_node_hour: 0.09, ...dated } },
      storage: { usd_per_gb_month: 0.026, ...dated },
    });
    expect(t.machine_types['n1-standard-2']).toEqual({ usd_per_node_hour: 0.09, ...dated });
    expect(t.machine_types['n1-standard-4']).toEqual(defaultPriceTable().machine_types['n1-standard-4']);
    expect(t.storage.usd_per_gb_month).toBe(0.026);
    expect(overriddenEntries(t)).toEqual(['machine_types.n1-standard-2', 'storage']);
  });

  it('reads a JSON file and adds new entries', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prices-'));
    const file = path.join(dir, 'prices.json');
    fs.writeFileSync(file, JSON.stringify({ accelerators: { NVIDIA_H100_80GB: { usd_per_hour: 9.8, ...dated } } }));
    const t = loadPriceTable(file);
    expect(t.accelerators.NVIDIA_H100_80GB?.usd_per_hour).toBe(9.8);
    expect(t.accelerators.NVIDIA_TESLA_T4).toBeDefined();
  });

  it('a complete table stands alone with base null', () => {
    const t = loadPriceTable({ ...defaultPriceTable(), machine_types: {} }, { base: null });
    expect(Object.keys(t.machine_types)).toEqual([]);
  });

  it('names the bad field', () => {
    const negative = errorOf(() =>
      loadPriceTable({ machine_types: { 'n1-standard-2': { usd_per_node_hour: -1, ...dated } } }),
    );
    expect(negative.code).toBe('INVALID_ARGUMENT');
    expect(negative.message).toContain('machine_types.n1-standard-2.usd_per_node_hour');

    // An override must carry its own date and source: no number borrows another's.
    const undated = errorOf(() =>
      loadPriceTable({ tokens: { 'gemini-2.5-flash': { usd_per_1m_input_tokens: 0.2, usd_per_1m_output_tokens: 1 } } }),
    );
    expect(undated.message).toContain('tokens.gemini-2.5-flash.as_of');
    expect(undated.message).toContain('tokens.gemini-2.5-flash.source');

    const typo = errorOf(() => loadPriceTable({ storage: { usd_per_gb: 0.02, ...dated } }));
    expect(typo.message).toMatch(/storage/);
    expect(typo.message).toMatch(/usd_per_gb/);

    expect(errorOf(() => loadPriceTable({ currency: 'EUR' })).message).toContain('currency');
    expect(errorOf(() => loadPriceTable({ as_of: 'last week' })).message).toContain(
      'as_of: expected a date YYYY-MM-DD',
    );
  });

  it('reports unreadable and non-JSON files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prices-'));
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{ "currency": ');
    expect(errorOf(() => loadPriceTable(bad)).message).toContain('is not valid JSON');
    expect(errorOf(() => loadPriceTable(path.join(dir, 'missing.json'))).message).toContain('cannot read price table');
    fs.writeFileSync(bad, '[1, 2]');
    expect(errorOf(() => loadPriceTable(bad)).message).toContain('expected a JSON object');
  });
});

describe('look-ups', () => {
  const t = defaultPriceTable();
  it('find machine types and accelerators, case-insensitively', () => {
    expect(machinePrice(t, 'N1-Standard-4').price?.usd_per_node_hour).toBe(0.219);
    expect(acceleratorPrice(t, 'nvidia_tesla_t4').price?.usd_per_hour).toBe(0.4025);
  });

  it('list the known names when a price is missing', () => {
    const m = machinePrice(t, 'a3-megagpu-8g');
    expect(m.price).toBeNull();
    expect(m.price === null && m.reason).toMatch(/known: .*n1-standard-2/);
    const a = acceleratorPrice(t, 'TPU_V5_LITEPOD');
    expect(a.price === null && a.reason).toMatch(/NVIDIA_TESLA_T4/);
  });

  it('normalise model names for token prices', () => {
    expect(tokenPrice(t, 'gemini-2.0-flash-001').name).toBe('gemini-2.0-flash');
    expect(tokenPrice(t, 'publishers/google/models/gemini-2.5-flash').price?.usd_per_1m_input_tokens).toBe(0.3);
    const unknown = tokenPrice(t, 'claude-opus');
    expect(unknown.price === null && unknown.reason).toMatch(/known: gemini/);
  });
});
