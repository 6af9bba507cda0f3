// Shared by the emulator's contract tests: official-client options for an emulator, and a
// status-code assertion for calls that must fail.
import { grpc } from 'google-gax';
import { expect } from 'vitest';
import type { Emulator } from '../../src/emulator/index.js';

/**
 * Which channel the contract tests use: real gRPC over loopback (the default), or the embedded
 * emulator's in-process channel (VERTEX_MCP_TEST_CHANNEL=in-process; vitest.config.ts runs the
 * contract tests a second time that way, so both paths meet the same assertions).
 */
export const TEST_CHANNEL = process.env.VERTEX_MCP_TEST_CHANNEL === 'in-process' ? 'in-process' : 'grpc';

/** Options for any official Google client pointed at the emulator (no auth, no metadata probe). */
export function clientOptions(emu: Emulator, projectId = 'p') {
  return {
    apiEndpoint: '127.0.0.1',
    port: emu.grpcPort,
    sslCreds: grpc.credentials.createInsecure(),
    projectId,
    universeDomain: 'googleapis.com',
    ...(TEST_CHANNEL === 'in-process' ? { 'grpc.channelFactoryOverride': emu.channelFactory } : {}),
  };
}

/** Awaits a call that must fail with gRPC `code`; returns the error text. */
export async function expectStatus(call: Promise<unknown>, code: number, message?: RegExp): Promise<string> {
  const err = (await call.then(
    () => undefined,
    (e: unknown) => e,
  )) as { code?: number; details?: string; message?: string } | undefined;
  expect(err, 'expected the call to fail').toBeDefined();
  expect(err!.code, err!.message).toBe(code);
  const text = err!.details ?? err!.message ?? '';
  if (message) expect(text).toMatch(message);
  return text;
}

/** The emulator's in-process channel factory, telling `seen` the method path of every call. */
export function countingChannelFactory(emu: Emulator, seen: (method: string) => void) {
  return (a: string, c: unknown, o: unknown) => {
    const ch = emu.channelFactory(a, c, o);
    const createCall = ch.createCall.bind(ch);
    ch.createCall = (method, ...rest) => {
      seen(method);
      return createCall(method, ...rest);
    };
    return ch;
  };
}
