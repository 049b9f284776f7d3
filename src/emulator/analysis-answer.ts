/**
 * The emulator's answer to a post-call analysis request (SPEC §10): an out-of-band text
 * response whose `metadata.purpose` is `analysis`. It returns a deterministic summary and data
 * shaped by the JSON Schema the request's instructions end with (`JSON Schema: {…}`), so the
 * whole analysis path runs offline and its result can be asserted.
 */
import { isWireObject } from '../protocol/wire-object.js';

/** The summary the emulator gives for every call. */
export const EMULATED_SUMMARY = 'The caller spoke with the assistant; the emulator summarised the call.';

/** True for a post-call analysis request (the `response.create` parameters, and the response's modality). */
export function isAnalysisRequest(params: Record<string, unknown>, modality: 'audio' | 'text'): boolean {
  const metadata = params['metadata'];
  return modality === 'text' && isWireObject(metadata) && metadata['purpose'] === 'analysis';
}

/** A value of the schema's shape: first enum value, minimums, required and listed properties. */
export function exampleOf(schema: unknown, depth = 0): unknown {
  if (!isWireObject(schema) || depth > 8) return null;
  if ('const' in schema) return schema['const'];
  if (Array.isArray(schema['enum']) && schema['enum'].length > 0) return schema['enum'][0] as unknown;
  const type = Array.isArray(schema['type']) ? (schema['type'][0] as unknown) : schema['type'];
  switch (type) {
    case 'object': {
      const properties = isWireObject(schema['properties']) ? schema['properties'] : {};
      return Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, exampleOf(v, depth + 1)]));
    }
    case 'array': {
      const n = typeof schema['minItems'] === 'number' ? schema['minItems'] : 0;
      return Array.from({ length: n }, () => exampleOf(schema['items'], depth + 1));
    }
    case 'string': {
      const min = typeof schema['minLength'] === 'number' ? schema['minLength'] : 0;
      return 'example'.padEnd(min, 'x');
    }
    case 'integer':
    case 'number':
      return typeof schema['minimum'] === 'number' ? schema['minimum'] : 0;
    case 'boolean':
      return false;
    case 'null':
      return null;
    default:
      return isWireObject(schema['properties']) ? exampleOf({ ...schema, type: 'object' }, depth) : null;
  }
}

/** The JSON text the emulator answers an analysis request with. */
export function analysisAnswer(params: Record<string, unknown>): string {
  const instructions = typeof params['instructions'] === 'string' ? params['instructions'] : '';
  const at = instructions.lastIndexOf('JSON Schema:');
  let schema: unknown = { type: 'object' };
  if (at >= 0) {
    try {
      schema = JSON.parse(instructions.slice(at + 'JSON Schema:'.length));
    } catch {
      schema = { type: 'object' };
    }
  }
  return JSON.stringify({ summary: EMULATED_SUMMARY, data: exampleOf(schema) });
}
