// google.protobuf.Struct / Value in proto-loader's object form, from and to plain JSON.
export type ProtoValue =
  | { nullValue: 'NULL_VALUE' }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: ProtoStruct }
  | { listValue: { values: ProtoValue[] } };
export interface ProtoStruct {
  fields: Record<string, ProtoValue>;
}

export function toValue(v: unknown): ProtoValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  return { structValue: toStruct(v as Record<string, unknown>) };
}

export function toStruct(obj: Record<string, unknown>): ProtoStruct {
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, toValue(v)])) };
}

/** google.protobuf.Value (proto-loader object form, oneofs) -> plain JSON. */
export function fromValue(v: unknown): unknown {
  if (!v || typeof v !== 'object') return null;
  const value = v as Record<string, any>;
  const kind: string | undefined = value.kind ?? Object.keys(value).find((k) => k.endsWith('Value'));
  switch (kind) {
    case 'numberValue':
      return value.numberValue;
    case 'stringValue':
      return value.stringValue;
    case 'boolValue':
      return value.boolValue;
    case 'structValue':
      return fromStruct(value.structValue);
    case 'listValue':
      return ((value.listValue?.values ?? []) as unknown[]).map(fromValue);
    default:
      return null;
  }
}

/** google.protobuf.Struct (proto-loader object form) -> a plain JSON object; none is {}. */
export function fromStruct(s: unknown): Record<string, unknown> {
  const fields = ((s as { fields?: Record<string, unknown> } | null | undefined)?.fields ?? {}) as Record<
    string,
    unknown
  >;
  return Object.fromEntries(Object.entries(fields).map(([k, x]) => [k, fromValue(x)]));
}
