import { describe, expect, it } from 'vitest';

import type { RecordingLine } from '../../../src/protocol/recording.js';
import { gateModelLines } from '../../../src/recording/replay-gates.js';

const inn = (t: number, msg: Record<string, unknown>): RecordingLine => ({ t, dir: 'model_in', msg });
const out = (t: number, msg: Record<string, unknown>): RecordingLine => ({ t, dir: 'model_out', msg });
const append = (t: number, ms: number) =>
  inn(t, { type: 'input_audio_buffer.append', audio: Buffer.alloc(ms * 8).toString('base64') });

describe('gateModelLines', () => {
  it('ties answers to the requests they answer, response events to their response, VAD to audio', () => {
    const lines: RecordingLine[] = [
      inn(0, { type: 'link.connect' }),
      out(5, { type: 'link.open', reconnect: false }),
      out(6, { type: 'session.created', session: {} }),
      inn(6, { type: 'session.update', session: {} }),
      out(8, { type: 'session.updated', session: {} }),
      append(20, 20),
      append(40, 20),
      out(41, { type: 'input_audio_buffer.speech_started', item_id: 'u1', audio_start_ms: 0 }),
      inn(50, { type: 'response.create' }),
      out(52, { type: 'response.created', response: { id: 'r1' } }),
      out(60, { type: 'response.output_item.added', response_id: 'r1', item: { id: 'a1' } }),
      out(61, { type: 'conversation.item.added', item: { id: 'a1' } }),
      out(70, { type: 'response.done', response: { id: 'r1', status: 'completed' } }),
      out(80, { type: 'rate_limits.updated' }),
    ];
    const gated = gateModelLines(lines, 'pcmu');
    const byType = Object.fromEntries(gated.map((g) => [String(lines[g.line]!.msg['type']), g.gates]));
    expect(byType['link.open']).toEqual([{ kind: 'client', clientKind: 'link.connect', index: 0, recordedT: 0 }]);
    expect(byType['session.created']).toEqual([{ kind: 'line', line: 1, recordedT: 5 }]);
    expect(byType['session.updated']).toEqual([
      { kind: 'client', clientKind: 'session.update', index: 0, recordedT: 6 },
    ]);
    expect(byType['input_audio_buffer.speech_started']).toEqual([{ kind: 'audio', ms: 40, recordedT: 40 }]);
    expect(byType['response.created']).toEqual([
      { kind: 'client', clientKind: 'response.create', index: 0, recordedT: 50 },
    ]);
    expect(byType['conversation.item.added']).toEqual([{ kind: 'line', line: 9, recordedT: 52 }]);
    expect(byType['response.done']).toEqual([{ kind: 'line', line: 9, recordedT: 52 }]);
    expect(byType['rate_limits.updated']).toEqual([{ kind: 'line', line: 12, recordedT: 70 }]);
  });

  it('a dropped socket is not gated; the reconnect follows the drop', () => {
    const lines: RecordingLine[] = [
      inn(0, { type: 'link.connect' }),
      out(5, { type: 'link.open', reconnect: false }),
      out(900, { type: 'link.closed', code: 1006, reason: '', willRetry: true, retryInMs: 200 }),
      out(1100, { type: 'link.open', reconnect: true }),
    ];
    const gated = gateModelLines(lines, 'pcmu');
    expect(gated[1]!.gates).toEqual([]);
    expect(gated[2]!.gates).toEqual([{ kind: 'line', line: 2, recordedT: 900 }]);
  });
});
