/**
 * The load bench's bookkeeping (bench/load/): latency samples and percentiles, base64
 * lengths, and the frame mapping of a call probe — caller frames to model bytes, model
 * deltas to Twilio frames — including what counts as lost, late or unexpected.
 */
import { describe, expect, it } from 'vitest';

import { base64ByteLength } from '../../../src/protocol/base64.js';
import { CallProbe, Measurements, SEND_RING_FRAMES } from '../../../bench/load/probe.js';
import { PhoneFleet } from '../../../bench/load/lean-phone.js';
import { LatencySamples, percentile } from '../../../bench/load/stats.js';

describe('percentile (nearest rank)', () => {
  it.each([
    [[], 50, null],
    [[7], 99, 7],
    [[1, 2, 3, 4], 50, 2],
    [[1, 2, 3, 4], 99, 4],
    [Array.from({ length: 100 }, (_v, i) => i + 1), 99, 99],
    [Array.from({ length: 1000 }, (_v, i) => i + 1), 99, 990],
  ])('%j p%d = %s', (values, p, expected) => {
    expect(percentile(values, p)).toBe(expected);
  });
});

describe('LatencySamples', () => {
  it('grows past its first block, counts late samples and resets', () => {
    const samples = new LatencySamples(100);
    for (let i = 0; i < 10_000; i++) samples.add(i % 200);
    samples.addLate();
    const s = samples.summary();
    expect(s.count).toBe(10_000);
    expect(s.late).toBe(10_000 / 2 - 50 + 1);
    expect(s.p50Ms).toBe(99);
    expect(s.maxMs).toBe(199);
    samples.reset();
    expect(samples.summary()).toEqual({ count: 0, p50Ms: null, p99Ms: null, maxMs: null, late: 0 });
  });
});

describe('base64ByteLength', () => {
  it.each([0, 1, 2, 3, 4, 159, 160, 960, 961])('matches the decoded length of %d bytes', (n) => {
    const b64 = Buffer.alloc(n, 0xa5).toString('base64');
    expect(base64ByteLength(b64)).toBe(Buffer.from(b64, 'base64').length);
  });
});

describe('CallProbe', () => {
  const window = (lateMs = 100) => {
    const m = new Measurements(lateMs);
    m.startWindow(0);
    return m;
  };

  it('maps model bytes back to caller frames, whatever the append size (pcm16: 960 bytes per frame)', () => {
    const m = window();
    const probe = new CallProbe(0, m);
    for (let k = 0; k < 4; k++) probe.frameSent(k * 20);
    const sent = probe.snapshot();
    probe.audioReceived(960 * 2, 960, 45); // frames 0 and 1 in one append
    probe.audioReceived(500, 960, 70); // half a frame: nothing completes
    probe.audioReceived(460, 960, 71); // frame 2 completes
    probe.frameSent(80); // in flight after the snapshot: not lost
    expect(probe.modelFrames).toBe(3);
    expect(probe.lostSince(sent).up).toBe(1);
    expect(m.up.summary()).toMatchObject({ count: 3, p50Ms: 31, maxMs: 45, late: 0 });
  });

  it('counts audio beyond what was sent as excess, not as latency', () => {
    const probe = new CallProbe(0, window());
    probe.frameSent(0);
    probe.audioReceived(160 * 2, 160, 5);
    expect(probe.modelFrames).toBe(2);
    expect(probe.excessModelFrames).toBe(1);
  });

  it('measures only frames sent inside the window', () => {
    const m = new Measurements(100);
    const probe = new CallProbe(0, m);
    probe.frameSent(0);
    m.startWindow(10);
    probe.frameSent(20);
    probe.audioReceived(320, 160, 30);
    expect(m.up.summary()).toMatchObject({ count: 1, p50Ms: 10 });
  });

  it('counts frames whose send time has left the ring as late, without a value', () => {
    const m = window(10_000);
    const probe = new CallProbe(0, m);
    for (let k = 0; k < SEND_RING_FRAMES + 2; k++) probe.frameSent(k);
    probe.audioReceived(160 * (SEND_RING_FRAMES + 2), 160, SEND_RING_FRAMES + 10);
    // frames 0 and 1 were overwritten by frames 1024 and 1025
    expect(m.up.summary()).toMatchObject({ count: SEND_RING_FRAMES, late: 2 });
  });

  it('pairs received assistant frames with the delta that made them available, in order', () => {
    const m = window();
    const probe = new CallProbe(0, m);
    probe.framesAvailable(2, 100);
    probe.framesAvailable(1, 150);
    const sent = probe.snapshot();
    probe.framesAvailable(1, 160); // in flight after the snapshot: not lost
    probe.frameHeard(101);
    probe.frameHeard(103);
    expect(probe.lostSince(sent).down).toBe(1);
    probe.frameHeard(152);
    expect(probe.lostSince(sent).down).toBe(0);
    probe.frameHeard(161);
    probe.frameHeard(170); // nothing accounts for this one
    expect(probe.unexpectedFrames).toBe(1);
    expect(m.down.summary()).toMatchObject({ count: 4, p50Ms: 1, maxMs: 3 });
  });
});

describe('CallProbe: the newest frame of each append', () => {
  it('measures the bridge delay without the wait for a batch', () => {
    const m = new Measurements(100);
    m.startWindow(0);
    const probe = new CallProbe(0, m);
    probe.frameSent(0);
    probe.frameSent(20);
    probe.audioReceived(320, 160, 21); // frames 0 and 1 together, 1 ms after frame 1
    expect(m.up.summary()).toMatchObject({ count: 2, maxMs: 21 });
    expect(m.upNewest.summary()).toMatchObject({ count: 1, p50Ms: 1 });
  });
});

describe('PhoneFleet', () => {
  it('after every tick, no phone is still owed a frame due more than 1 ms ago (stalls included)', () => {
    const fleet = new PhoneFleet<{ startedAtMs: number; tick(now: number): void; due: number }>();
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < 60; i++) {
      const startedAtMs = 1000 + rand() * 100;
      // as LeanPhone: everything due by now, in order
      fleet.add({
        startedAtMs,
        due: startedAtMs + 20,
        tick(now: number) {
          while (now >= this.due) this.due += 20;
        },
      });
    }
    let now = 1100;
    let ticks = 0;
    // one expect at the end: ~100,000 of them took 5 s on a loaded machine
    const late: { now: number; due: number }[] = [];
    while (now < 3000) {
      now += 0.6 + rand() * 1.2 + (rand() < 0.01 ? 30 : 0); // 0.6-1.8 ms, now and then a 30 ms stall
      fleet.tick(now);
      ticks++;
      // milliseconds before floor(now) have been visited: nothing due in them is left
      for (const p of fleet.phones) if (p.due < Math.floor(now)) late.push({ now, due: p.due });
    }
    expect(ticks).toBeGreaterThan(1000);
    expect(late).toEqual([]);
  });
});
