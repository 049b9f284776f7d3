/**
 * Builders for CallSession tests: profiles, sessions on a virtual clock, and the events of
 * both sides. μ-law passthrough (`pcmu`) makes frame counts exact: 8 bytes per ms.
 */
import type { CallCommand, CallEvent } from '../../src/call/events.js';
import { CallSession } from '../../src/call/call-session.js';
import type { SessionTuning } from '../../src/call/session-tuning.js';
import type { CallInfo, ToolTable } from '../../src/call/tools/tool.js';
import type { Profile } from '../../src/config/numbers.js';
import type { ModelEvent } from '../../src/protocol/realtime.js';
import { VirtualClock } from '../../src/util/clock.js';

export function makeProfile(overrides: Partial<Profile> = {}): Profile {
  return {
    key: '+15551230001',
    instructions: 'Be brief.',
    voice: 'alloy',
    greeting: null,
    greetingInterruptible: true,
    turnDetection: { type: 'server_vad', threshold: 0.5, prefixPaddingMs: 300, silenceDurationMs: 500 },
    transcription: { model: 'whisper-1' },
    tools: ['hang_up', 'transfer_call'],
    transferTo: '+15550000000',
    modelAudio: 'pcmu',
    ...overrides,
  };
}

export interface SessionHarness {
  session: CallSession;
  clock: VirtualClock;
  /** feeds one event, returns its commands */
  feed(event: CallEvent): CallCommand[];
  /** feeds events in order, returns all commands */
  feedAll(events: CallEvent[]): CallCommand[];
}

export function makeSession(
  options: {
    profile?: Partial<Profile>;
    canUseRest?: boolean;
    tuning?: Partial<SessionTuning>;
    apologyMs?: number;
    tools?: ToolTable;
    /** who calls whom (an `outbound` direction turns on answering-machine handling) */
    call?: CallInfo;
  } = {},
): SessionHarness {
  const clock = new VirtualClock();
  const session = new CallSession({
    clock,
    profile: makeProfile(options.profile),
    apologyMulaw: Buffer.alloc((options.apologyMs ?? 400) * 8, 0x55),
    canUseRest: options.canUseRest ?? true,
    ...(options.tuning ? { tuning: options.tuning } : {}),
    ...(options.tools ? { tools: options.tools } : {}),
    ...(options.call ? { call: options.call } : {}),
  });
  const feed = (e: CallEvent) => session.handle(e);
  return { session, clock, feed, feedAll: (events) => events.flatMap(feed) };
}

/** A session that has started, opened the model and is live. */
export function liveSession(options: Parameters<typeof makeSession>[0] = {}): SessionHarness {
  const h = makeSession(options);
  h.feed(start());
  h.feed({ type: 'model.open', reconnect: false });
  h.feed({ type: 'model.sessionUpdated' });
  return h;
}

export const start = (): CallEvent => ({
  type: 'twilio.start',
  streamSid: 'MZ0001',
  callSid: 'CA0123456789abcdef0123456789abcdef',
  accountSid: 'AC01',
  customParameters: {},
});
export const media = (timestampMs: number, bytes = 160, value = 0xff): CallEvent => ({
  type: 'twilio.media',
  timestampMs,
  payload: Buffer.alloc(bytes, value),
});
export const mark = (name: string): CallEvent => ({ type: 'twilio.mark', name });
export const responseCreated = (responseId: string): ModelEvent => ({ type: 'model.responseCreated', responseId });
/** `ms` of μ-law audio (8 bytes per ms) for an assistant item. */
export const delta = (responseId: string, itemId: string, ms: number, contentIndex = 0): ModelEvent => ({
  type: 'model.audioDelta',
  responseId,
  itemId,
  outputIndex: 0,
  contentIndex,
  audio: Buffer.alloc(ms * 8, 0x2a),
});
export const audioDone = (responseId: string, itemId: string): ModelEvent => ({
  type: 'model.audioDone',
  responseId,
  itemId,
  contentIndex: 0,
});
export const responseDone = (responseId: string, status: 'completed' | 'cancelled' = 'completed'): ModelEvent => ({
  type: 'model.responseDone',
  responseId,
  status,
  reason: status === 'cancelled' ? 'turn_detected' : null,
  errorCode: null,
  output: [],
  usage: null,
});
export const speechStarted = (): ModelEvent => ({
  type: 'model.speechStarted',
  audioStartMs: 1000,
  itemId: 'item_user_1',
});
export const transcriptDone = (responseId: string, itemId: string, transcript: string): ModelEvent => ({
  type: 'model.transcriptDone',
  responseId,
  itemId,
  contentIndex: 0,
  transcript,
});
export const functionCall = (
  responseId: string,
  name: string,
  args = '{}',
  callId = `call_${name}`,
): Extract<ModelEvent, { type: 'model.functionCallDone' }> => ({
  type: 'model.functionCallDone',
  responseId,
  itemId: `fc_${callId}`,
  callId,
  name,
  arguments: args,
});

/** Names of the marks in a command list, in order. */
export function markNames(cmds: CallCommand[]): string[] {
  return cmds.flatMap((c) => (c.type === 'twilio.mark' ? [c.name] : []));
}

/** The commands that leave the bridge (Twilio and model), without logs, records and timers. */
export function wire(cmds: CallCommand[]): CallCommand[] {
  return cmds.filter(
    (c) =>
      c.type.startsWith('twilio.') ||
      (c.type.startsWith('model.') && c.type !== 'model.appendAudio') ||
      c.type.startsWith('rest.'),
  );
}

/** Echoes, in order, every mark whose position (ms into its item, last `:` field) is ≤ `upToMs`. */
export function echoUpTo(h: SessionHarness, names: string[], upToMs: number): CallCommand[] {
  return names.filter((n) => Number(n.split(':').pop()) <= upToMs).flatMap((n) => h.feed(mark(n)));
}
