/**
 * INTERIM: a minimal implementation of the transcoder API so the call session can be
 * built while the real streaming polyphase FIR (issue #3) is written. Replaced wholesale.
 */
import alawmulaw from 'alawmulaw';

import type { ModelAudioFormat } from '../protocol/realtime.js';

export type { ModelAudioFormat };

export const TWILIO_FRAME_BYTES = 160;

export interface CallerToModel {
  push(mulaw8k: Uint8Array): Buffer;
  flush(): Buffer;
  reset(): void;
}

export interface ModelToCaller {
  push(modelBytes: Uint8Array): Buffer[];
  flush(): Buffer[];
  reset(): void;
  readonly pendingBytes: number;
}

class Framer {
  private pending = Buffer.alloc(0);
  get pendingBytes(): number {
    return this.pending.length;
  }
  push(bytes: Uint8Array): Buffer[] {
    this.pending = Buffer.concat([this.pending, bytes]);
    const out: Buffer[] = [];
    while (this.pending.length >= TWILIO_FRAME_BYTES) {
      out.push(Buffer.from(this.pending.subarray(0, TWILIO_FRAME_BYTES)));
      this.pending = this.pending.subarray(TWILIO_FRAME_BYTES);
    }
    return out;
  }
  flush(): Buffer[] {
    if (this.pending.length === 0) return [];
    const f = Buffer.alloc(TWILIO_FRAME_BYTES, 0xff);
    this.pending.copy(f);
    this.pending = Buffer.alloc(0);
    return [f];
  }
  reset(): void {
    this.pending = Buffer.alloc(0);
  }
}

export function createCallerToModel(format: ModelAudioFormat): CallerToModel {
  if (format === 'pcmu') return { push: (b) => Buffer.from(b), flush: () => Buffer.alloc(0), reset: () => undefined };
  return {
    push(mulaw) {
      const pcm = alawmulaw.mulaw.decode(mulaw);
      const out = Buffer.alloc(pcm.length * 6);
      for (let i = 0; i < pcm.length; i++) for (let k = 0; k < 3; k++) out.writeInt16LE(pcm[i]!, (i * 3 + k) * 2);
      return out;
    },
    flush: () => Buffer.alloc(0),
    reset: () => undefined,
  };
}

export function createModelToCaller(format: ModelAudioFormat): ModelToCaller {
  const framer = new Framer();
  if (format === 'pcmu') {
    return { push: (b) => framer.push(b), flush: () => framer.flush(), reset: () => framer.reset(), get pendingBytes() { return framer.pendingBytes; } };
  }
  let odd: number | null = null;
  let phase = 0;
  return {
    push(bytes) {
      let buf = Buffer.from(bytes);
      if (odd !== null) { buf = Buffer.concat([Buffer.from([odd]), buf]); odd = null; }
      if (buf.length % 2 === 1) { odd = buf[buf.length - 1]!; buf = buf.subarray(0, buf.length - 1); }
      const samples: number[] = [];
      for (let i = 0; i < buf.length; i += 2) { if (phase === 0) samples.push(buf.readInt16LE(i)); phase = (phase + 1) % 3; }
      return framer.push(alawmulaw.mulaw.encode(Int16Array.from(samples)));
    },
    flush: () => framer.flush(),
    reset: () => { framer.reset(); odd = null; phase = 0; },
    get pendingBytes() { return framer.pendingBytes; },
  };
}
