// The Cloud Monitoring metric types the emulated MetricService answers for, with the shapes Vertex AI
// publishes them in (resource `aiplatform.googleapis.com/Endpoint`, metric kind, value type, unit,
// labels), and the metric descriptors ListMetricDescriptors / GetMetricDescriptor return.
export const ENDPOINT_RESOURCE = 'aiplatform.googleapis.com/Endpoint';
export const METRIC_PREFIX = 'aiplatform.googleapis.com/prediction/online/';
/** The monitored resource's labels, in the order series are sorted by. */
export const RESOURCE_LABELS = ['resource_container', 'location', 'endpoint_id'] as const;

export type MetricKind = 'GAUGE' | 'DELTA';
export type ValueType = 'INT64' | 'DOUBLE' | 'DISTRIBUTION';
export type Labels = Record<string, string>;

/** Which latency a `latency_type` series measures: Vertex's model / overhead / total (= model + overhead). */
export const LATENCY_TYPES = ['model', 'overhead', 'total'] as const;
export type LatencyType = (typeof LATENCY_TYPES)[number];

export type MetricSource =
  /**
   * A sum over the prediction records (SQL): `sum` is the summed column ('1' counts records), `where`
   * selects the records (`request_first = 1`: one record per request), `byResponseCode` adds the
   * response_code label. `rollup` is the same sum in the per-minute rollups (predictions.ts): the
   * column of prediction_rollup_counts, over response codes >= 400 only with `errorsOnly`.
   */
  | {
      kind: 'count';
      sum: '1' | 'request_bytes' | 'response_bytes';
      where?: string;
      byResponseCode?: boolean;
      rollup: { column: 'requests' | 'predictions' | 'request_bytes' | 'response_bytes'; errorsOnly?: boolean };
    }
  /**
   * A latency distribution per latency_type, one value per served request (response code < 400,
   * first record of the request: it carries the request's latencies).
   */
  | { kind: 'latency' }
  /** A gauge sampled from the replica events. */
  | { kind: 'replicas' }
  /** A metric Vertex publishes that the emulator does not measure: listed, never any series. */
  | { kind: 'unmeasured' };

export interface MetricDef {
  type: string;
  kind: MetricKind;
  valueType: ValueType;
  unit: string;
  displayName: string;
  description: string;
  labels: { key: string; description: string }[];
  source: MetricSource;
}

const DEPLOYED_MODEL = {
  key: 'deployed_model_id',
  description: 'The ID of the DeployedModel which serves the request.',
};

export const METRICS: MetricDef[] = [
  {
    type: `${METRIC_PREFIX}prediction_count`,
    kind: 'DELTA',
    valueType: 'INT64',
    unit: '1',
    displayName: 'Number of predictions',
    description:
      'Number of online predictions: one per instance served, one per failed request. A request of n instances ' +
      'counts n; use response_count for requests.',
    labels: [DEPLOYED_MODEL],
    source: { kind: 'count', sum: '1', rollup: { column: 'predictions' } },
  },
  {
    type: `${METRIC_PREFIX}error_count`,
    kind: 'DELTA',
    valueType: 'INT64',
    unit: '1',
    displayName: 'Number of prediction errors',
    description: 'Number of failed online prediction requests (response code >= 400), one per request.',
    labels: [DEPLOYED_MODEL],
    source: {
      kind: 'count',
      sum: '1',
      where: 'response_code >= 400 AND request_first = 1',
      rollup: { column: 'requests', errorsOnly: true },
    },
  },
  {
    type: `${METRIC_PREFIX}response_count`,
    kind: 'DELTA',
    valueType: 'INT64',
    unit: '1',
    displayName: 'Response count',
    description:
      'Number of online prediction responses, by response code: one per request, whatever its number of instances.',
    labels: [DEPLOYED_MODEL, { key: 'response_code', description: 'The HTTP response code, e.g. "200".' }],
    source: {
      kind: 'count',
      sum: '1',
      where: 'request_first = 1',
      byResponseCode: true,
      rollup: { column: 'requests' },
    },
  },
  {
    type: `${METRIC_PREFIX}prediction_latencies`,
    kind: 'DELTA',
    valueType: 'DISTRIBUTION',
    unit: 'ms',
    displayName: 'Prediction latencies',
    description:
      'Latency of served online prediction requests (response code < 400) in ms, one value per request: ' +
      'latency_type "model" is the time in inference (all the request\'s instances), "overhead" the time around ' +
      'it, "total" their sum.',
    labels: [DEPLOYED_MODEL, { key: 'latency_type', description: 'One of "model", "overhead" or "total".' }],
    source: { kind: 'latency' },
  },
  {
    type: `${METRIC_PREFIX}replicas`,
    kind: 'GAUGE',
    valueType: 'INT64',
    unit: '1',
    displayName: 'Replica count',
    description: 'Number of active replicas of the deployed model (sampled every 60 s from the replica changes).',
    labels: [DEPLOYED_MODEL],
    source: { kind: 'replicas' },
  },
  {
    type: `${METRIC_PREFIX}network/received_bytes_count`,
    kind: 'DELTA',
    valueType: 'INT64',
    unit: 'By',
    displayName: 'Network bytes received',
    description: 'Bytes of prediction requests received by the deployed model.',
    labels: [DEPLOYED_MODEL],
    source: { kind: 'count', sum: 'request_bytes', rollup: { column: 'request_bytes' } },
  },
  {
    type: `${METRIC_PREFIX}network/sent_bytes_count`,
    kind: 'DELTA',
    valueType: 'INT64',
    unit: 'By',
    displayName: 'Network bytes sent',
    description: 'Bytes of prediction responses sent by the deployed model.',
    labels: [DEPLOYED_MODEL],
    source: { kind: 'count', sum: 'response_bytes', rollup: { column: 'response_bytes' } },
  },
  ...(
    [
      ['cpu/utilization', 'DOUBLE', '10^2.%', 'CPU utilization'],
      ['memory/bytes_used', 'INT64', 'By', 'Memory usage'],
      ['accelerator/duty_cycle', 'DOUBLE', '10^2.%', 'Accelerator duty cycle'],
    ] as const
  ).map(
    ([suffix, valueType, unit, displayName]): MetricDef => ({
      type: `${METRIC_PREFIX}${suffix}`,
      kind: 'GAUGE',
      valueType,
      unit,
      displayName,
      description: `${displayName} of the replicas. Not measured by the emulator: ListTimeSeries answers no series.`,
      labels: [DEPLOYED_MODEL],
      source: { kind: 'unmeasured' },
    }),
  ),
];

export const METRICS_BY_TYPE = new Map(METRICS.map((m) => [m.type, m]));

export const RESOURCE_LABEL_DESCRIPTIONS: Record<(typeof RESOURCE_LABELS)[number], string> = {
  resource_container: 'The identifier of the project of the endpoint.',
  location: 'The region of the endpoint.',
  endpoint_id: 'The ID of the endpoint.',
};

/** The google.api.MetricDescriptor of a metric type, under `projects/{project}`. */
export function descriptor(project: string, m: MetricDef): Record<string, unknown> {
  return {
    name: `projects/${project}/metricDescriptors/${m.type}`,
    type: m.type,
    labels: m.labels.map((l) => ({ key: l.key, valueType: 'STRING', description: l.description })),
    metricKind: m.kind,
    valueType: m.valueType,
    unit: m.unit,
    description: m.description,
    displayName: m.displayName,
    metadata: { samplePeriod: { seconds: '60', nanos: 0 }, ingestDelay: { seconds: '0', nanos: 0 } },
    launchStage: 'GA',
    monitoredResourceTypes: [ENDPOINT_RESOURCE],
  };
}
