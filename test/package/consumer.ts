// What a TypeScript user of the installed package writes: the README's library example, run offline
// against the embedded emulator. scripts/package-check.sh copies it into a fresh project that
// installed the packed tarball, type-checks it with skipLibCheck: false, and runs it.
import path from 'node:path';
import { createLibrary } from 'vertex-mcp';
import { createAgentTools } from 'vertex-mcp/agent';
import { examplesDir, startEmulator } from 'vertex-mcp/emulator';

const emu = await startEmulator(); // in-memory state, free loopback ports
const lib = createLibrary(emu.backend(), { allowedRoots: [examplesDir()] });
try {
  // Routing logs -> a tuning dataset -> two fine-tuned versions, each registered on success.
  const data = await lib.tuning.prepareHaloRoutingDataset({
    input: path.join(examplesDir(), 'halo-routing.jsonl'),
    output: 'gs://vertex-mcp-emulator/readme/halo',
  });
  for (const [version, epochs] of [
    ['1.0.0', 1],
    ['1.1.0', 8],
  ] as const) {
    const job = await lib.tuning.submitTuningJob(
      {
        tuning_type: 'supervised',
        base_model: 'local/text-router',
        dataset: { train_uri: data.output.train_uri, validation_uri: data.output.validation_uri ?? undefined },
        hyperparameters: { epochs, seed: 1 },
        output: { name: 'halo-router', version },
      },
      { wait: true },
    );
    if (job.state !== 'SUCCEEDED' || !job.registered) throw new Error(`tuning ${version}: ${job.state} ${job.error}`);
  }
  const cmp = await lib.registry.compareVersions('halo-router', '1.0.0', '1.1.0');
  console.log(`compare: ${cmp.recommendation}`);

  // Serve 1.0.0, A/B test 1.1.0 against it on live traffic with feedback.
  await lib.endpoints.createEndpoint({
    display_name: 'router-ep',
    machine_type: 'n1-standard-2',
    accelerator_count: 0,
    min_replicas: 1,
    max_replicas: 1,
    target_utilization: 60,
  });
  await lib.endpoints.deployModel({ endpoint: 'router-ep', name: 'halo-router', version: '1.0.0' });
  const test = await lib.experiments.start({
    endpoint: 'router-ep',
    name: 'router-1-1-0',
    model: 'halo-router',
    control: '1.0.0',
    treatment: '1.1.0',
    primary_metric: 'accuracy',
    minimum_detectable_effect: 0.05,
  });
  console.log(`A/B test ${test.test}: ${test.state}, ${test.plan.traffic_percentage}% to 1.1.0`);
  const { readFileSync } = await import('node:fs');
  const heldout = readFileSync(path.join(examplesDir(), 'halo-routing-heldout.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { task: string; agent: string });
  for (let i = 0; i < 200; i++) {
    const t = heldout[i % heldout.length]!;
    const r = await lib.endpoints.predict('router-ep', [t.task]);
    const output = (r.predictions[0] as { output?: string }).output;
    lib.monitoring.recordFeedback({
      endpoint: 'router-ep',
      prediction_id: r.prediction_ids[0]!,
      correct: output === t.agent,
    });
  }
  const { verdict, sentence } = await lib.experiments.get('router-1-1-0'); // as often as you like
  console.log(`verdict after 200 requests: [${verdict}] ${sentence}`);
  if (!sentence) throw new Error('the A/B test report has no sentence');
} finally {
  await lib.close();
  await emu.close();
}

// The same catalogue in process (vertex-mcp/agent), without any agent framework installed: its
// types check and its tools run; the adapters would load their framework only when called.
const agent = await createAgentTools({ selection: { toolsets: ['registry'] } });
try {
  const listModels = agent.tools.find((t) => t.name === 'list_models');
  const r = await listModels?.execute({});
  if (!r || r.isError) throw new Error(`vertex-mcp/agent list_models failed: ${r?.text}`);
  console.log(`vertex-mcp/agent: ${agent.tools.length} registry tools; list_models: ${r.text}`);
} finally {
  await agent.close();
}
