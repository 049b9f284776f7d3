import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { RECORDING_VERSION, isLifecycleLine, parseRecording } from '../../../src/protocol/recording.js';
import { TwilioEncoder } from '../../../src/protocol/twilio.js';
import { CallRecorder, RECORDING_FLUSH_MS } from '../../../src/recording/recorder.js';
import { readRecording } from '../../../src/recording/recording-file.js';
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
    clock.advance(RECORDING_FLUSH_MS);
    await rec.whenWritten();
    const parsed = readRecording(file);
    expect(parsed.ok && parsed.recording.lines.length).toBe(1);
    // a half-written last line (crash mid-append) is tolerated by the reader
    writeFileSync(file, `${readFileSync(file, 'utf8')}{"t":3,"dir":"twil`);
    expect(readRecording(file).ok).toBe(true);
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

  it('keeps audio as binary tracks beside a compact log, and reading puts it back where the wire had it', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const rec = new CallRecorder({ dir, clock, redactor: new Redactor(), logger: silentLogger(), header });
    const caller = Buffer.from(Array.from({ length: 160 }, (_v, i) => i));
    const inbound = {
      event: 'media',
      sequenceNumber: '3',
      media: { track: 'inbound', chunk: '2', timestamp: '40', payload: caller.toString('base64') },
      streamSid: 'MZ1',
    };
    rec.twilio('twilio_in', JSON.stringify(inbound));
    const appended = new Uint8Array(960).fill(7);
    rec.model.appendAudio(appended);
    const delta = Buffer.alloc(4801, 3); // odd, as PCM16 deltas can be
    const deltaEvent = { type: 'response.output_audio.delta', response_id: 'r1', item_id: 'i1', delta: '' };
    rec.model.message('model_out', { ...deltaEvent, delta: delta.toString('base64') });
    const played = Buffer.alloc(160, 0xff);
    rec.twilio('twilio_out', new TwilioEncoder('MZ1').media(played));
    rec.twilio('twilio_out', new TwilioEncoder('MZ1').mark('m1'));
    await rec.close();

    const file = path.join(dir, `${header.callSid}.jsonl`);
    const log = readFileSync(file, 'utf8');
    expect(log).not.toContain(caller.toString('base64'));
    expect(log.length).toBeLessThan(2_000);
    const parsed = readRecording(file);
    if (!parsed.ok) throw new Error(parsed.reason);
    const { header: h, lines } = parsed.recording;
    expect(h.tracks?.model_in).toEqual({
      file: `${header.callSid}.model_in.pcm16`,
      encoding: 'pcm16',
      sampleRate: 24000,
    });
    expect(readFileSync(path.join(dir, h.tracks!.twilio_in!.file))).toEqual(caller);
    expect(readFileSync(path.join(dir, h.tracks!.model_in!.file))).toEqual(Buffer.alloc(960, 7));
    expect(readFileSync(path.join(dir, h.tracks!.model_out!.file))).toEqual(delta);
    expect(lines.map((l) => l.msg)).toEqual([
      inbound,
      { type: 'input_audio_buffer.append', audio: Buffer.alloc(960, 7).toString('base64') },
      { ...deltaEvent, delta: delta.toString('base64') },
      { event: 'media', streamSid: 'MZ1', media: { payload: played.toString('base64') } },
      { event: 'mark', streamSid: 'MZ1', mark: { name: 'm1' } },
    ]);
  });

  it('redacts a media frame naming a secret key (plainly or escaped) or carrying a secret value', async () => {
    const dir = tempDir();
    const clock = new VirtualClock();
    const rec = new CallRecorder({
      dir,
      clock,
      redactor: new Redactor(['sk-live-secret-123']),
      logger: silentLogger(),
      header,
    });
    const payload = Buffer.alloc(160, 1).toString('base64');
    rec.twilio('twilio_in', `{"event":"media","token":"t-abcdef","media":{"payload":"${payload}"}}`);
    rec.twilio('twilio_in', `{"event":"media","\\u0074oken":"t-ghijkl","media":{"payload":"${payload}"}}`);
    rec.twilio('twilio_in', `{"event":"media","note":"sk-live-secret-123","media":{"payload":"${payload}"}}`);
    await rec.close();
    const files = readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'latin1'));
    for (const secret of ['t-abcdef', 't-ghijkl', 'sk-live-secret-123'])
      expect(files.some((f) => f.includes(secret))).toBe(false);
    const parsed = readRecording(path.join(dir, `${header.callSid}.jsonl`));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.recording.lines.map((l) => l.msg)).toEqual([
      { event: 'media', token: '[redacted]', media: { payload } },
      { event: 'media', token: '[redacted]', media: { payload } },
      { event: 'media', note: '[redacted]', media: { payload } },
    ]);
  });

  it('a reader refuses a missing track, and a header that names a track outside its folder', async () => {
    const dir = tempDir();
    const rec = new CallRecorder({
      dir,
      clock: new VirtualClock(),
      redactor: new Redactor(),
      logger: silentLogger(),
      header,
    });
    rec.twilio('twilio_in', new TwilioEncoder('MZ1').media(Buffer.alloc(160)));
    await rec.close();
    const file = path.join(dir, `${header.callSid}.jsonl`);
    const log = readFileSync(file, 'utf8');
    writeFileSync(file, log.replace(`"file":"${header.callSid}.twilio_in.ulaw"`, '"file":"../etc-passwd"'));
    expect(readRecording(file)).toEqual({ ok: false, reason: expect.stringContaining('not a file name') as unknown });
    writeFileSync(file, log);
    rmSync(path.join(dir, `${header.callSid}.twilio_in.ulaw`));
    expect(readRecording(file)).toEqual({
      ok: false,
      reason: expect.stringContaining('twilio_in audio track') as unknown,
    });
    // without its tracks the log alone says which line lost its audio
    expect(parseRecording(log)).toEqual({ ok: false, reason: 'line 2: the twilio_in audio track is missing' });
  });

  it('malformed base64 in one frame costs that frame only: the next lines still find their audio', async () => {
    const dir = tempDir();
    const rec = new CallRecorder({
      dir,
      clock: new VirtualClock(),
      redactor: new Redactor(),
      logger: silentLogger(),
      header,
    });
    const good = Buffer.alloc(160, 0x42).toString('base64');
    rec.twilio('twilio_in', '{"event":"media","media":{"payload":"A*A*A*A*"}}');
    rec.twilio('twilio_in', `{"event":"media","media":{"payload":"${good}"}}`);
    await rec.close();
    const parsed = readRecording(path.join(dir, `${header.callSid}.jsonl`));
    if (!parsed.ok) throw new Error(parsed.reason);
    expect(parsed.recording.lines[1]!.msg).toEqual({ event: 'media', media: { payload: good } });
  });
});
