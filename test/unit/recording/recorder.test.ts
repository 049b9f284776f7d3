import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { RECORDING_VERSION, isLifecycleLine, parseRecording } from '../../../src/protocol/recording.js';
import { CallRecorder } from '../../../src/recording/recorder.js';
import { Redactor } from '../../../src/security/redact.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { silentLogger } from '../../../src/util/logger.js';
import { tempDir } from '../../support/tmp.js';

const header = {
  callSid: 'CA0123456789abcdef0123456789abcdef',
  profile: '+15551230001',
  dialect: 'ga' as const,
  audioMode: 'pcm16' as const,
  bridgeVersion: '0.1.0',
};

describe('CallRecorder', () => {
  it('writes a header and one line per message with t and dir; redacts tokens and configured secrets', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const rec = new CallRecorder({
      dir,
      clock,
      redactor: new Redactor(['sk-live-secret-123']),
      logger: silentLogger(),
      header,
    });
    rec.twilio(
      'twilio_in',
      JSON.stringify({
        event: 'start',
        start: { callSid: header.callSid, customParameters: { profile: '+15551230001', token: 'v1.abc.def.ghi' } },
      }),
    );
    clock.advance(20.04);
    rec.model.message('model_in', { type: 'session.update', session: { instructions: 'key is sk-live-secret-123' } });
    rec.twilio('twilio_out', '{"event":"clear","streamSid":"MZ1"}');
    await rec.close();
    const text = readFileSync(path.join(dir, `${header.callSid}.jsonl`), 'utf8');
    expect(text).not.toContain('v1.abc.def.ghi');
    expect(text).not.toContain('sk-live-secret-123');
    const parsed = parseRecording(text);
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.recording.header).toMatchObject({ type: 'header', version: RECORDING_VERSION, ...header });
    expect(parsed.recording.lines.map((l) => [l.t, l.dir])).toEqual([
      [0, 'twilio_in'],
      [20, 'model_in'],
      [20, 'twilio_out'],
    ]);
    expect(parsed.recording.lines[0]!.msg).toMatchObject({
      start: { customParameters: { token: '[redacted]', profile: '+15551230001' } },
    });
  });

  it('flushes on a timer, so a crash leaves a readable file up to the last flush', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const rec = new CallRecorder({ dir, clock, redactor: new Redactor(), logger: silentLogger(), header });
    rec.twilio('twilio_in', '{"event":"media","media":{"timestamp":"0","payload":""}}');
    await rec.whenWritten();
    const file = path.join(dir, `${header.callSid}.jsonl`);
    expect(readFileSync(file, 'utf8').split('\n').filter(Boolean)).toHaveLength(1); // header only: not flushed yet
    clock.advance(1_000);
    await rec.whenWritten();
    const parsed = parseRecording(readFileSync(file, 'utf8'));
    expect(parsed.ok && parsed.recording.lines.length).toBe(1);
    // a half-written last line (crash mid-append) is tolerated by the reader
    expect(parseRecording(`${readFileSync(file, 'utf8')}{"t":3,"dir":"twil`).ok).toBe(true);
  });

  it('writes lifecycle lines in order with the wire (the factory notes them, see call-factory.test)', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const rec = new CallRecorder({ dir, clock, redactor: new Redactor(), logger: silentLogger(), header });
    rec.lifecycle('model_in', { type: 'link.connect' });
    clock.advance(5);
    rec.lifecycle('model_out', { type: 'link.open', reconnect: false });
    rec.model.message('model_out', { type: 'session.created', session: {} });
    rec.lifecycle('model_out', { type: 'link.closed', code: 1006, reason: '', willRetry: true, retryInMs: 180 });
    rec.lifecycle('twilio_in', { event: 'socket.closed', code: 1005 });
    await rec.close();
    const parsed = parseRecording(readFileSync(path.join(dir, `${header.callSid}.jsonl`), 'utf8'));
    if (!parsed.ok) throw new Error(parsed.reason);
    const lines = parsed.recording.lines;
    expect(lines.map((l) => [l.dir, l.msg['type'] ?? l.msg['event'], isLifecycleLine(l.dir, l.msg)])).toEqual([
      ['model_in', 'link.connect', true],
      ['model_out', 'link.open', true],
      ['model_out', 'session.created', false],
      ['model_out', 'link.closed', true],
      ['twilio_in', 'socket.closed', true],
    ]);
    expect(lines[3]!.msg).toEqual({ type: 'link.closed', code: 1006, reason: '', willRetry: true, retryInMs: 180 });
  });
});
