// prepare_dataset: the multi-agent system's logs -> tuning JSONL, streaming, with a stats report.
import { z } from 'zod';
import { defineTool } from './define.js';
import { progressOf } from './progress.js';

export const prepareDataset = defineTool({
  name: 'prepare_dataset',
  description:
    'Turn an SE-Darwin archive or HALO routing log into de-duplicated tuning JSONL split by validation_fraction and seed; publishes a new generation under output atomically. Returns URIs, counts, drops.',
  toolset: 'tuning',
  kind: 'create',
  input: {
    source: z.enum(['se_darwin', 'halo_routing']),
    input: z.string().min(1).max(4096).describe('Directory, file or gs:// prefix'),
    output: z.string().min(1).describe('Directory or gs:// prefix'),
    format: z.enum(['gemini', 'prompt_completion']).default('gemini'),
    quality_threshold: z.number().min(0).max(1).default(0.8).describe('se_darwin: keep quality_score >= this'),
    min_success_rate: z
      .number()
      .min(0)
      .max(1)
      .default(0.6)
      .describe('halo_routing: keep (task, agent) with success rate >= this'),
    preference_pairs: z.boolean().default(false).describe('halo_routing: also preferences.jsonl (rlhf)'),
    validation_fraction: z.number().min(0).max(0.5).default(0.1),
    seed: z.number().int().min(0).default(0),
    overwrite: z.boolean().default(false),
  },
  output: {
    train_uri: z.string(),
    validation_uri: z.string().nullable(),
    preferences_uri: z.string().nullable(),
    stats_uri: z.string(),
    manifest_uri: z.string(),
    generation: z.string(),
    previous_generation: z.string().nullable(),
    records_read: z.number(),
    kept: z.number(),
    train_examples: z.number(),
    validation_examples: z.number(),
    dropped: z.record(z.string(), z.number()),
    top_labels: z.array(z.object({ label: z.string(), count: z.number(), share: z.number() })),
    bad_records: z.array(z.object({ file: z.string(), line: z.number(), reason: z.string() })),
    bad_records_count: z.number(),
    throughput_mb_s: z.number().nullable(),
  },
  async handler(args, ctx) {
    const progress = progressOf(ctx);
    const onProgress = (p: { bytes_read: number; total_bytes: number; records: number }) =>
      progress(p.bytes_read, p.total_bytes || undefined, `${p.records} records read`);
    const common = {
      input: args.input,
      output: args.output,
      format: args.format,
      validation_fraction: args.validation_fraction,
      seed: args.seed,
      overwrite: args.overwrite,
    };
    const r =
      args.source === 'se_darwin'
        ? await ctx.lib.tuning.prepareSeDarwinDataset(
            { ...common, quality_threshold: args.quality_threshold },
            onProgress,
            ctx.extra.signal,
          )
        : await ctx.lib.tuning.prepareHaloRoutingDataset(
            { ...common, min_success_rate: args.min_success_rate, preference_pairs: args.preference_pairs },
            onProgress,
            ctx.extra.signal,
          );
    const dropped = Object.fromEntries(Object.entries(r.dropped).filter(([, n]) => n > 0));
    const seconds = r.elapsed_ms / 1000;
    const out = {
      train_uri: r.output.train_uri,
      validation_uri: r.output.validation_uri,
      preferences_uri: r.output.preferences_uri ?? null,
      stats_uri: r.output.stats_uri,
      manifest_uri: r.output.manifest_uri,
      generation: r.output.generation,
      previous_generation: r.previous_generation ?? null,
      records_read: r.records_read,
      kept: r.kept,
      train_examples: r.train_examples,
      validation_examples: r.validation_examples,
      dropped,
      top_labels: r.label_balance.top.slice(0, 10),
      bad_records: r.bad_records.slice(0, 5),
      bad_records_count: r.bad_records_count,
      // Measured over this run; null when it was too short to time.
      throughput_mb_s: seconds > 0 ? Number((r.bytes_read / 1e6 / seconds).toFixed(1)) : null,
    };
    const drops = Object.entries(dropped)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ');
    return {
      structured: out,
      text: [
        `Read ${r.records_read} records: kept ${r.kept} (${r.train_examples} train, ${r.validation_examples} validation)${drops ? `; dropped ${drops}` : ''}${r.bad_records_count ? `; ${r.bad_records_count} bad record(s), the first in bad_records` : ''}.`,
        `Published generation ${r.output.generation}${out.previous_generation ? ` (replacing ${out.previous_generation})` : ''}: manifest ${r.output.manifest_uri}; train ${r.output.train_uri}${out.validation_uri ? `; validation ${out.validation_uri}` : ''}${out.preferences_uri ? `; preferences ${out.preferences_uri}` : ''}; stats ${out.stats_uri}.`,
      ].join(' '),
    };
  },
});
