/**
 * What both fuzz files share: the numbers file (a healthy pcm16 line without a greeting, and
 * two fuzzed lines with one: pcm16 with transfer_call, and μ-law passthrough) and record reads.
 */
export const FUZZ_NUMBERS = `
defaults:
  instructions: Fuzz line.
  voice: alloy
  greeting: Hello, this is the healthy line.
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
  transcription: { model: whisper-1 }
  tools: [hang_up]
numbers:
  "+15551230001":
    greeting: null
  "+15551237777":
    greeting: Hello, fuzzed line.
    tools: [hang_up, transfer_call]
    transfer_to: "+15550000000"
  "+15551238888":
    greeting: Hello, fuzzed passthrough line.
    model_audio: pcmu
`;
export const HEALTHY_NUMBER = '+15551230001';
/** Fuzzed calls alternate between these: the transcoding path and the μ-law passthrough. */
export const FUZZED_NUMBERS = ['+15551237777', '+15551238888'] as const;

export interface CallRecordView {
  callSid: string;
  outcome: string;
  detail: string | null;
  endedAt: string | null;
  turns: { role: string; text: string }[];
}

export async function callRecord(baseUrl: string, callSid: string): Promise<CallRecordView> {
  const res = await fetch(`${baseUrl}/api/calls/${callSid}`);
  if (res.status !== 200) throw new Error(`no call record for ${callSid} (HTTP ${res.status})`);
  return (await res.json()) as CallRecordView;
}

export { within, writeStats } from '../support/run-stats.js';
