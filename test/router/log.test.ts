// The decision log: append-only segments rotated by size, locally and on gs:// (spooled, then
// published one object per segment), and segments a crashed router left in the spool.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecisionLog } from '../../src/router/log.js';
import { type RouterStack, readLines, routerStack } from './stack.js';

let s: RouterStack;
beforeAll(async () => {
  s = await routerStack({ deploy: false });
});
afterAll(async () => {
  await s?.close();
});

const record = (i: number) => ({ task: `task ${i} ${'x'.repeat(100)}`, agent: 'coder', success: i % 2 === 0 });

describe('DecisionLog', () => {
  it('appends locally and rotates by size without losing or repeating a line', async () => {
    const dir = path.join(s.dir, 'local');
    const log = new DecisionLog(s.lib.files, { path: dir, max_segment_bytes: 2048 });
    for (let i = 0; i < 100; i++) log.append('halo', record(i));
    // Written before append returns: readable now, not only after close.
    expect(readLines(path.join(dir, 'halo'))).toHaveLength(100);
    await log.close();
    const files = fs.readdirSync(path.join(dir, 'halo'));
    const sizes = files.map((f) => fs.statSync(path.join(dir, 'halo', f)).size);
    expect(files.length).toBeGreaterThanOrEqual(6); // ~150 bytes a line, 2 KB a segment
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2048);
    expect(readLines(path.join(dir, 'halo')).map((r) => r.task)).toEqual(
      Array.from({ length: 100 }, (_, i) => record(i).task),
    );
    expect(log.counts()).toEqual({ routed: 0, halo: 100, published: 0, publish_errors: 0 });
  });

  it('on gs:// publishes each rotated segment as an object, and flush publishes the current one', async () => {
    const prefix = 'gs://vertex-mcp-emulator/log-test/a';
    const spool = path.join(s.dir, 'spool-a');
    const log = new DecisionLog(s.lib.files, { path: prefix, max_segment_bytes: 2048, spool_dir: spool });
    for (let i = 0; i < 40; i++) log.append('routed', record(i));
    await log.flush();
    const objects = await s.lib.files.list(`${prefix}/routed`);
    expect(objects.length).toBeGreaterThanOrEqual(3);
    let lines = 0;
    for (const o of objects) lines += (await s.lib.files.readText(o.uri)).split('\n').filter(Boolean).length;
    expect(lines).toBe(40);
    expect(fs.readdirSync(path.join(spool, 'routed'))).toEqual([]); // published segments leave the spool
    expect(log.counts().published).toBe(objects.length);
    await log.close();
  });

  it('publishes what a crashed router left in the spool when the next one starts', async () => {
    const prefix = 'gs://vertex-mcp-emulator/log-test/b';
    const spool = path.join(s.dir, 'spool-b');
    fs.mkdirSync(path.join(spool, 'halo'), { recursive: true });
    fs.writeFileSync(
      path.join(spool, 'halo', 'halo-20260101T000000000Z-1-abcdef.jsonl'),
      `${JSON.stringify(record(1))}\n`,
    );
    const log = new DecisionLog(s.lib.files, { path: prefix, spool_dir: spool });
    await log.flush();
    const objects = await s.lib.files.list(`${prefix}/halo`);
    expect(objects.map((o) => path.basename(o.uri))).toEqual(['halo-20260101T000000000Z-1-abcdef.jsonl']);
    await log.close();
  });

  it('refuses a segment size too small to hold a record', () => {
    expect(() => new DecisionLog(s.lib.files, { path: path.join(s.dir, 'y'), max_segment_bytes: 10 })).toThrow(
      /log\.max_segment_bytes must be an integer of at least 1024, got 10/,
    );
  });
});
