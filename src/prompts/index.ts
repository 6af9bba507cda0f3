// Workflow prompts: whole lifecycles an agent (or a person in a client) can start in one step.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

export function registerPrompts(server: McpServer): void {
  server.registerPrompt(
    'tune_router_from_logs',
    {
      title: 'Fine-tune a routing model from logged decisions',
      description: 'Prepare a dataset from HALO routing logs, tune a router on it, and register the result.',
      argsSchema: {
        logs: z.string().describe('HALO routing-decision JSONL (gs:// URI or local path)'),
        name: z.string().describe('Registry model name for the router'),
        version: z.string().describe('Version to register, e.g. 1.1.0'),
      },
    },
    ({ logs, name, version }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: [
              `Fine-tune the routing model "${name}" from the decisions logged in ${logs}.`,
              `1. prepare_dataset with source "halo_routing", input "${logs}", and an output directory next to it; report kept/dropped counts and the label balance.`,
              '2. list_base_models; pick a base model the current backend runs.',
              `3. submit_tuning_job (tuning_type "supervised", the prepared train and validation files, output {"name": "${name}", "version": "${version}"}, wait true).`,
              '4. If the job is still running when the call returns, poll get_tuning_job with wait true until it is done.',
              `5. Report the per-epoch validation accuracy, then compare_model_versions of ${name} against its production version if there is one.`,
            ].join('\n'),
          },
        },
      ],
    }),
  );

  server.registerPrompt(
    'promote_best_version',
    {
      title: 'Compare two versions and promote the better one',
      description: 'Compare a candidate version with the baseline on recorded metrics and promote it only if it wins.',
      argsSchema: {
        name: z.string().describe('Model name'),
        baseline: z.string().describe('Current version, e.g. 1.0.0'),
        candidate: z.string().describe('Candidate version, e.g. 1.1.0'),
      },
    },
    ({ name, baseline, candidate }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: [
              `Decide whether model "${name}" version ${candidate} should replace ${baseline}.`,
              `1. Call compare_model_versions with name="${name}", version_a="${baseline}", version_b="${candidate}".`,
              '2. If either version lacks metrics, say which and stop: do not guess numbers.',
              `3. If compare_model_versions rests on an A/B test (basis "ab_test") and the winner is "b", or if it is offline and a promotion without live evidence is acceptable, promote ${candidate} one stage at a time with promote_model until production, using gate {"beat_production": true} for the last step.`,
              '4. Report the recommendation sentence with its numbers and the final stages (get_model).',
            ].join('\n'),
          },
        },
      ],
    }),
  );

  server.registerPrompt(
    'ab_test_and_promote',
    {
      title: 'A/B test a candidate version and act on the verdict',
      description:
        'Start an A/B test of a candidate against the serving version, watch it until the verdict, then ship or roll back.',
      argsSchema: {
        endpoint: z.string().describe('Endpoint serving the current version'),
        name: z.string().describe('Model name'),
        control: z.string().describe('Serving version, e.g. 1.0.0'),
        treatment: z.string().describe('Candidate version, e.g. 1.1.0'),
        metric: z.string().optional().describe('accuracy (default), score, error_rate or latency_ms'),
      },
    },
    ({ endpoint, name, control, treatment, metric }) => ({
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: [
              `A/B test "${name}" ${treatment} (treatment) against ${control} (control) on endpoint ${endpoint}, and act on the verdict.`,
              `1. start_ab_test with endpoint "${endpoint}", model "${name}", control "${control}", treatment "${treatment}", primary_metric "${metric ?? 'accuracy'}", a minimum_detectable_effect you can justify, and dry_run true. Show the plan: the split and the sample size per arm.`,
              '2. Start it for real (confirm true). Keep the returned test id.',
              '3. While traffic flows, record feedback for predictions whose outcome you learn (record_feedback with the prediction_id).',
              '4. Call get_ab_test as often as you like (its sequential interval stays valid under repeated looks). Report the verdict sentence each time it changes. Do not decide on your own reading of the numbers.',
              '5. When the verdict is ship_treatment or keep_control, call conclude_ab_test with action "auto", first with dry_run true, then with confirm true. If the test was rolled back automatically (a guardrail failed or the split was broken), report why.',
              `6. Report the final state: get_model "${name}" for both versions and list_endpoints for the split.`,
            ].join('\n'),
          },
        },
      ],
    }),
  );
}
