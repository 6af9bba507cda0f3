// Field validation rules Vertex AI applies across resources, with INVALID_ARGUMENT messages that
// name the offending field and the rule, so a caller (often an LLM agent) can fix the request.
import { invalidArgument } from './errors.js';

// Label keys and values: lowercase letters (international ones too), digits, `_` and `-`; keys
// start with a letter; each at most 63 characters; at most 64 labels per resource.
const LABEL_KEY = /^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u;
const LABEL_VALUE = /^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u;
const MAX_LABELS = 64;

export function validateLabels(labels: Record<string, string> | undefined, field = 'labels'): void {
  const entries = Object.entries(labels ?? {});
  if (entries.length > MAX_LABELS) {
    throw invalidArgument(`${field} has ${entries.length} entries; at most ${MAX_LABELS} labels are allowed`);
  }
  for (const [key, value] of entries) {
    if (!LABEL_KEY.test(key)) {
      throw invalidArgument(
        `${field} key "${key}" is invalid: keys must start with a lowercase letter and contain only lowercase letters, digits, "_" and "-" (at most 63 characters)`,
      );
    }
    if (!LABEL_VALUE.test(value ?? '')) {
      throw invalidArgument(
        `${field}["${key}"] value "${value}" is invalid: values may contain only lowercase letters, digits, "_" and "-" (at most 63 characters)`,
      );
    }
  }
}

/** Display names: required, any UTF-8, at most 128 characters. */
export function validateDisplayName(displayName: string | undefined, field: string): void {
  if (!displayName) throw invalidArgument(`${field} is required`);
  if ([...displayName].length > 128) throw invalidArgument(`${field} must be at most 128 characters`);
}
