/**
 * Every tool call on the call record (SPEC §9 `tools: [{name, arguments, ok, ms}]`). The
 * table is wrapped once per call: each entry's plan is passed through unchanged, and what it
 * became — an output at once, the end of a job, an end or a transfer — is reported to the
 * record. It observes and never decides.
 */
import type { Clock } from '../../util/clock.js';
import type { ToolEntry, ToolPlan, ToolTable } from './tool.js';

export interface ToolRecord {
  name: string;
  /** the arguments object the model sent; null when it was not a JSON object */
  arguments: Record<string, unknown> | null;
  /** false when the output is `{"ok": false, …}` (an error the model was told) or the job failed */
  ok: boolean;
  /** from the model's call to its output */
  ms: number;
  /** when the model called it (the record lists calls in this order) */
  atMs: number;
}

/** An output is an error when it is a JSON object whose `ok` is false (what `toolError` sends). */
export function outputOk(output: string): boolean {
  if (!output.startsWith('{')) return true;
  try {
    const value: unknown = JSON.parse(output);
    return !(typeof value === 'object' && value !== null && (value as { ok?: unknown }).ok === false);
  } catch {
    return true;
  }
}

export function recordedTools(table: ToolTable, clock: Clock, onRecord: (record: ToolRecord) => void): ToolTable {
  const wrap = (name: string, entry: ToolEntry): ToolEntry => ({
    declaration: entry.declaration,
    plan: (args, ctx): ToolPlan => {
      const atMs = clock.now();
      const report = (ok: boolean) => onRecord({ name, arguments: args, ok, ms: clock.now() - atMs, atMs });
      const plan = entry.plan(args, ctx);
      switch (plan.kind) {
        case 'output':
          report(outputOk(plan.output));
          return plan;
        case 'end':
        case 'transfer':
          report(true);
          return plan;
        case 'job': {
          const run = plan.run;
          return {
            ...plan,
            run: () =>
              run().then(
                (output) => {
                  report(outputOk(output));
                  return output;
                },
                (err: unknown) => {
                  report(false);
                  throw err;
                },
              ),
          };
        }
      }
    },
  });
  return new Map([...table].map(([name, entry]) => [name, wrap(name, entry)]));
}
