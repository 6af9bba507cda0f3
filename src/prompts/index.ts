// Workflow prompts: whole lifecycles an agent (or a person in a client) can start in one step.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';

export function registerPrompts(server: McpServer): void {
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
              `3. If the winner is "b", promote ${candidate} one stage at a time with promote_model until production, using gate {"beat_production": true} for the last step.`,
              '4. Report the recommendation sentence with its numbers and the final stages (get_model).',
            ].join('\n'),
          },
        },
      ],
    }),
  );
}
