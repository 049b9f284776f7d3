/**
 * The JSON object: what `JSON.parse` (or a YAML parser) gives for `{…}`, before a schema has
 * looked at it. One home for the type and its guard, used by the parsers on both wires, the
 * dialect translation, the emulator, the replayer and the profile file.
 */

/** A JSON object as it crosses the wire; its values are still unchecked. */
export type WireObject = Record<string, unknown>;

/** True for a non-null object that is not an array. */
export function isWireObject(value: unknown): value is WireObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
