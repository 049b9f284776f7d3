/**
 * A scripted emulator (`EMULATOR_SCRIPT=<file>`): what the local model does on given caller
 * turns, so tests and `npm run call` exercise tools end to end without a real model. Turns
 * the script does not name get the emulator's defaults.
 *
 * ```yaml
 * turns:
 *   - turn: 1                       # the caller's 1st turn in each session
 *     call:                         # tool calls of one response (run concurrently); a name that a
 *                                   #   `type: "mcp"` server listed is called on that server by the emulator
 *       - name: lookup_appointment
 *         arguments: { date_of_birth: "1980-01-02" }
 *     then: done                    # the clip spoken once the outputs are in (default: done)
 * ```
 */
import { parse } from 'yaml';
import { z } from 'zod';

import { ConfigError } from '../util/errors.js';
import type { Responder, ResponsePlan } from './responder.js';

const StepSchema = z
  .object({
    turn: z.number().int().min(1),
    call: z
      .array(
        z
          .object({
            name: z.string().min(1),
            arguments: z.record(z.string(), z.unknown()).optional(),
            call_id: z.string().min(1).optional(),
          })
          .strict(),
      )
      .min(1),
    then: z.string().min(1).optional(),
  })
  .strict();

const ScriptSchema = z.object({ turns: z.array(StepSchema) }).strict();

export type EmulatorScript = z.infer<typeof ScriptSchema>;

/** Parses a script's text. @throws ConfigError naming the file and field */
export function parseEmulatorScript(text: string, file: string): EmulatorScript {
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new ConfigError(file, `${file}: not valid YAML (${(err as Error).message.split('\n')[0]})`);
  }
  const result = ScriptSchema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
    throw new ConfigError(
      `${file}: ${field.replace(/^\./, '')}`,
      `${file}: ${field.replace(/^\./, '')}: ${issue.message}`,
    );
  }
  return result.data;
}

/** The responder that plays a script: caller turns counted per session. */
export function scriptResponder(script: EmulatorScript): Responder {
  const turns = new Map<string, number>();
  const pendingThen = new Map<string, string>();
  return (request) => {
    const { sessionId, newItems } = request;
    if (newItems.some((i) => i.type === 'function_call_output' || i.type === 'mcp_call')) {
      const clip = pendingThen.get(sessionId);
      if (clip === undefined) return undefined;
      pendingThen.delete(sessionId);
      return { kind: 'clip', clip };
    }
    const callerTurn = newItems.some((i) => i.type === 'message' && i.role === 'user');
    if (!callerTurn) return undefined;
    const n = (turns.get(sessionId) ?? 0) + 1;
    turns.set(sessionId, n);
    const step = script.turns.find((s) => s.turn === n);
    if (step === undefined) return undefined;
    pendingThen.set(sessionId, step.then ?? 'done');
    const [first, ...more] = step.call.map((c) => ({
      name: c.name,
      arguments: c.arguments ?? {},
      ...(c.call_id !== undefined ? { callId: c.call_id } : {}),
    }));
    const plan: ResponsePlan = { kind: 'toolCall', ...first!, ...(more.length > 0 ? { more } : {}) };
    return plan;
  };
}
