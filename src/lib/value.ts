// google.protobuf.Value / Struct in the official clients' object form, to and from plain JSON.
import type { google } from '@google-cloud/aiplatform/build/protos/protos.js';
import { invalid } from './errors.js';

type IValue = google.protobuf.IValue;
type IStruct = google.protobuf.IStruct;

/**
 * How deeply JSON may nest inside one Value. Each JSON level is two or three protobuf message
 * levels (Value -> Struct -> fields entry -> Value), and protobuf parsers stop at 100 levels
 * (the C++ default recursion limit), so deeper documents would fail on the server anyway; here
 * they are refused up front with INVALID_ARGUMENT instead of exhausting the call stack.
 */
export const MAX_VALUE_DEPTH = 32;

/** JSON -> Value; `field` names the value in the error when it nests deeper than MAX_VALUE_DEPTH. */
export function toValue(v: unknown, field = 'value'): IValue {
  return convert(v, field, 1);
}

export function toStruct(obj: Record<string, unknown>, field = 'value'): IStruct {
  return structOf(obj, field, 1);
}

function tooDeep(field: string): never {
  throw invalid(
    `${field} nests more than ${MAX_VALUE_DEPTH} levels deep`,
    `Flatten it: objects and arrays may nest at most ${MAX_VALUE_DEPTH} levels`,
  );
}

function convert(v: unknown, field: string, depth: number): IValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (depth > MAX_VALUE_DEPTH) tooDeep(field);
  if (Array.isArray(v)) return { listValue: { values: v.map((x) => convert(x, field, depth + 1)) } };
  return { structValue: structOf(v as Record<string, unknown>, field, depth) };
}

function structOf(obj: Record<string, unknown>, field: string, depth: number): IStruct {
  if (depth > MAX_VALUE_DEPTH) tooDeep(field);
  return { fields: Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, convert(v, field, depth + 1)])) };
}

/**
 * How many objects and arrays nest in a JSON value (0 for a scalar), counted without recursion;
 * stops counting once past `limit`.
 */
export function jsonDepth(v: unknown, limit = MAX_VALUE_DEPTH): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d + 1 > max) max = d + 1;
    if (max > limit) return max;
    for (const child of Array.isArray(x) ? x : Object.values(x)) {
      if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
    }
  }
  return max;
}

export function fromStruct(s: IStruct | null | undefined): Record<string, unknown> {
  return Object.fromEntries(Object.entries(s?.fields ?? {}).map(([k, v]) => [k, fromValue(v)]));
}

export function fromValue(v: IValue | null | undefined): unknown {
  if (!v) return null;
  if (v.structValue) return fromStruct(v.structValue);
  if (v.listValue) return (v.listValue.values ?? []).map(fromValue);
  if (v.numberValue !== undefined && v.numberValue !== null) return v.numberValue;
  if (v.stringValue !== undefined && v.stringValue !== null) return v.stringValue;
  if (v.boolValue !== undefined && v.boolValue !== null) return v.boolValue;
  return null;
}
