/**
 * Tool work on the recording (`protocol/recording.ts`): a call's tool table wrapped so each
 * job — an HTTP request, an MCP call through the bridge — writes `tool.call` when it starts
 * and `tool.result` when its output is in. A replay answers the job from these lines
 * ({@link replayedTools}), so it needs no backend. Both wrappers pass every plan through
 * unchanged apart from the job's `run`: they observe, never decide.
 */
import type { ToolEntry, ToolPlan, ToolTable } from '../call/tools/tool.js';
import type { Direction } from '../protocol/recording.js';

type JobRun = Extract<ToolPlan, { kind: 'job' }>['run'];

/** The table with each job's `run` replaced by `wrapRun(run, call)`. */
function withJobs(
  table: ToolTable,
  wrapRun: (run: JobRun, call: { callId: string; name: string; args: Record<string, unknown> | null }) => JobRun,
): ToolTable {
  const wrap = (name: string, entry: ToolEntry): ToolEntry => ({
    declaration: entry.declaration,
    plan: (args, ctx) => {
      const plan = entry.plan(args, ctx);
      if (plan.kind !== 'job') return plan;
      return { ...plan, run: wrapRun(plan.run, { callId: ctx.toolCallId ?? '', name, args }) };
    },
  });
  return new Map([...table].map(([name, entry]) => [name, wrap(name, entry)]));
}

/** The table whose jobs are written to the recording through `lifecycle`. */
export function tappedTools(
  table: ToolTable,
  recorder: { lifecycle(dir: Direction, msg: Record<string, unknown>): void },
): ToolTable {
  return withJobs(table, (run, { callId, name, args }) => async () => {
    recorder.lifecycle('model_in', { type: 'tool.call', call_id: callId, name, arguments: args });
    const output = await run();
    recorder.lifecycle('model_out', { type: 'tool.result', call_id: callId, output });
    return output;
  });
}

/**
 * The table of a replay: a job never runs; it is announced with `onCall` (the replayed
 * `tool.call`), and its output arrives as the recorded `tool.result` line, played back like a
 * model event. The job's own promise never settles.
 */
export function replayedTools(
  table: ToolTable,
  onCall: (msg: {
    type: 'tool.call';
    call_id: string;
    name: string;
    arguments: Record<string, unknown> | null;
  }) => void,
): ToolTable {
  return withJobs(table, (_run, { callId, name, args }) => () => {
    onCall({ type: 'tool.call', call_id: callId, name, arguments: args });
    return new Promise<string>(() => undefined);
  });
}
