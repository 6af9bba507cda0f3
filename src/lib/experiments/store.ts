// Where A/B tests live: Vertex AI Experiments, through the MetadataService. A test is an experiment
// context (schema system.Experiment) in the default metadata store; each arm is a run context
// (system.ExperimentRun) added as its child. The plan, state, last verdict and decision record are
// the experiment's metadata, so every server on the project (and the console) sees the same test.
// Updates carry the etag read with them: two servers concluding one test cannot both win.
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import type { VertexClients } from '../clients.js';
import { callVertex, notFound, VertexMcpError } from '../errors.js';
import { fromStruct, toStruct } from '../value.js';
import type { Decision, Plan, TestState, Verdict } from './plan.js';

type IContext = google.cloud.aiplatform.v1.IContext;

/** Marks our experiments among others in the store. */
const KIND = 'vertex-mcp.ab_test';

export interface StoredTest {
  test: string;
  plan: Plan;
  state: TestState;
  last_verdict: Verdict | null;
  last_sentence: string | null;
  decision: Decision | null;
  /** Epoch ms when the test stopped counting (concluded); null while running. */
  ended_at: number | null;
  etag: string;
}

export class ExperimentStore {
  constructor(private readonly clients: VertexClients) {}

  private get store(): string {
    return `${this.clients.parent}/metadataStores/default`;
  }

  contextName(id: string): string {
    return `${this.store}/contexts/${id}`;
  }

  /** Claims the id (ALREADY_EXISTS when taken) and creates the arms as its children. */
  async create(id: string, plan: Plan, state: TestState, retried = false): Promise<StoredTest> {
    const client = await this.clients.metadata();
    const labels = { 'managed-by': 'vertex-mcp' };
    try {
      await callVertex(
        'create experiment',
        () =>
          client.createContext({
            parent: this.store,
            contextId: id,
            context: {
              displayName: id,
              schemaTitle: 'system.Experiment',
              schemaVersion: '0.0.1',
              labels,
              description: `A/B test of ${plan.model} ${plan.treatment.version} against ${plan.control.version} on endpoint ${plan.endpoint_name}`,
              metadata: toStruct({ kind: KIND, plan: plan as never, state, last_verdict: null, decision: null }),
            },
          }),
        { idempotent: false },
      );
    } catch (err) {
      if (err instanceof VertexMcpError && err.code === 'NOT_FOUND' && !retried) {
        // A project that never used Vertex AI Experiments has no default metadata store yet (the
        // Python SDK creates it on first use, too).
        const [op] = await callVertex(
          'create metadata store',
          () => client.createMetadataStore({ parent: this.clients.parent, metadataStoreId: 'default' }),
          { idempotent: false },
        );
        await callVertex('create metadata store', () => op.promise(), { idempotent: false });
        return this.create(id, plan, state, true);
      }
      if (err instanceof VertexMcpError && err.code === 'ALREADY_EXISTS') {
        throw new VertexMcpError(
          'ALREADY_EXISTS',
          `an A/B test (experiment) named "${id}" already exists`,
          'Choose another name, or read it with get_ab_test',
        );
      }
      throw err;
    }
    await this.ensureArms(id, plan);
    return this.get(id);
  }

  /** The arms' run contexts as children of the experiment; repeats safely (a retried start). */
  async ensureArms(id: string, plan: Plan): Promise<void> {
    const client = await this.clients.metadata();
    const labels = { 'managed-by': 'vertex-mcp' };
    const arms = [
      ['control', plan.control],
      ['treatment', plan.treatment],
    ] as const;
    for (const [arm, v] of arms) {
      await callVertex(
        'create experiment run',
        () =>
          client.createContext({
            parent: this.store,
            contextId: `${id}-${arm}`,
            context: {
              displayName: `${id}-${arm}`,
              schemaTitle: 'system.ExperimentRun',
              schemaVersion: '0.0.1',
              labels,
              metadata: toStruct({
                _params: { arm, model: plan.model, version: v.version, deployed_model_id: v.deployed_model_id },
                _state: 'RUNNING',
              }),
            },
          }),
        { idempotent: false },
      ).catch((err) => {
        if (!(err instanceof VertexMcpError && err.code === 'ALREADY_EXISTS')) throw err;
      });
    }
    await callVertex(
      'add experiment runs',
      () =>
        client.addContextChildren({
          context: this.contextName(id),
          childContexts: arms.map(([arm]) => this.contextName(`${id}-${arm}`)),
        }),
      { idempotent: true },
    );
  }

  async get(id: string): Promise<StoredTest> {
    const client = await this.clients.metadata();
    try {
      const [ctx] = await callVertex('get experiment', () => client.getContext({ name: this.contextName(id) }), {
        idempotent: true,
      });
      const t = toStored(id, ctx);
      if (t) return t;
    } catch (err) {
      if (!(err instanceof VertexMcpError && err.code === 'NOT_FOUND')) throw err;
    }
    throw notFound(`no A/B test "${id}"`, 'list_ab_tests shows the tests; start one with start_ab_test');
  }

  async list(): Promise<StoredTest[]> {
    const client = await this.clients.metadata();
    const [contexts] = await callVertex(
      'list experiments',
      () => client.listContexts({ parent: this.store, filter: 'schema_title="system.Experiment"' }),
      { idempotent: true },
    );
    return contexts
      .map((c) => toStored(String(c.name).split('/').pop()!, c))
      .filter((t): t is StoredTest => t !== null);
  }

  /** Merges `patch` into the test's metadata if nobody changed it since `etag` (else ABORTED). */
  async update(id: string, etag: string, patch: Partial<Omit<StoredTest, 'test' | 'etag' | 'plan'>>): Promise<void> {
    const client = await this.clients.metadata();
    await callVertex(
      'update experiment',
      () =>
        client.updateContext({
          context: { name: this.contextName(id), etag, metadata: toStruct(patch as Record<string, unknown>) },
          updateMask: { paths: ['metadata'] },
        }),
      { idempotent: false },
    );
  }

  /** Records an arm's final numbers on its run context (what the console's run table shows). */
  async finishArm(id: string, arm: 'control' | 'treatment', metrics: Record<string, number>): Promise<void> {
    const client = await this.clients.metadata();
    await callVertex(
      'update experiment run',
      () =>
        client.updateContext({
          context: {
            name: this.contextName(`${id}-${arm}`),
            metadata: toStruct({ _metrics: metrics, _state: 'COMPLETE' }),
          },
          updateMask: { paths: ['metadata'] },
        }),
      { idempotent: true },
    );
  }
}

function toStored(id: string, ctx: IContext): StoredTest | null {
  const m = fromStruct(ctx.metadata);
  if (m.kind !== KIND || !m.plan) return null;
  return {
    test: id,
    plan: m.plan as Plan,
    state: m.state as TestState,
    last_verdict: (m.last_verdict as Verdict | null) ?? null,
    last_sentence: (m.last_sentence as string | null) ?? null,
    decision: (m.decision as Decision | null) ?? null,
    ended_at: (m.ended_at as number | null) ?? null,
    etag: String(ctx.etag ?? ''),
  };
}
