import { defineConfig } from 'vitest/config';

// The embedded emulator serves the library over an in-process channel, other processes over gRPC.
// Both paths meet the same assertions: the emulator's contract tests run over gRPC (their default)
// and again in-process; the tool tests run in-process (the library's default) and again over gRPC.
const CONTRACT = ['test/emulator/*_service.test.ts', 'test/emulator/faults.test.ts'];
const TOOLS = ['test/tools/registry.test.ts', 'test/tools/endpoints.test.ts', 'test/tools/experiments.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'main', include: ['test/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'contract-in-process', include: CONTRACT, env: { VERTEX_MCP_TEST_CHANNEL: 'in-process' } },
      },
      { extends: true, test: { name: 'tools-over-grpc', include: TOOLS, env: { VERTEX_MCP_TEST_CHANNEL: 'grpc' } } },
    ],
  },
});
