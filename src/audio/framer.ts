/**
 * Re-frames μ-law audio of any chunk size into exact 20 ms Twilio frames. Pure.
 *
 * Twilio accepts media of any size, but re-chunking to whole 160-byte frames avoids the
 * clicks some bridges report with tiny chunks and keeps `mark`/`clear` accounting at a
 * 20 ms grain (PROTOCOLS §2.6).
 */
import { MULAW_SILENCE } from './g711.js';

/** One Twilio media frame: 20 ms of μ-law at 8 kHz (8 bytes per ms, PROTOCOLS §3.1). */
export const TWILIO_FRAME_BYTES = 160;

/**
 * Accumulates μ-law bytes and hands out whole {@link TWILIO_FRAME_BYTES} frames.
 * Carries the remainder (0–159 bytes) to the next `push`; nothing is dropped or reordered.
 */
export class MulawFramer {
  private readonly pending = new Uint8Array(TWILIO_FRAME_BYTES);
  private pendingLength = 0;

  /** μ-law bytes held back until a frame is complete (0–159). */
  get pendingBytes(): number {
    return this.pendingLength;
  }

  /**
   * Appends `mulaw` (any length, 0 included) and returns every frame it completes, in order.
   * Each frame is a fresh 160-byte `Buffer` (it never aliases `mulaw` or another frame), so
   * callers may keep or mutate it.
   */
  push(mulaw: Uint8Array): Buffer[] {
    const frames: Buffer[] = [];
    let offset = 0;
    const n = mulaw.length;
    if (this.pendingLength > 0) {
      const take = Math.min(TWILIO_FRAME_BYTES - this.pendingLength, n);
      this.pending.set(mulaw.subarray(0, take), this.pendingLength);
      this.pendingLength += take;
      offset = take;
      if (this.pendingLength < TWILIO_FRAME_BYTES) return frames;
      frames.push(copyFrame(this.pending, 0));
      this.pendingLength = 0;
    }
    for (; offset + TWILIO_FRAME_BYTES <= n; offset += TWILIO_FRAME_BYTES) frames.push(copyFrame(mulaw, offset));
    if (offset < n) {
      this.pending.set(mulaw.subarray(offset), 0);
      this.pendingLength = n - offset;
    }
    return frames;
  }

  /**
   * Emits the held-back partial frame, padded to 160 bytes with μ-law silence (0xFF), so the
   * end of a response is played rather than stuck. Returns `[]` if nothing is pending.
   */
  flush(): Buffer[] {
    if (this.pendingLength === 0) return [];
    const frame = Buffer.allocUnsafe(TWILIO_FRAME_BYTES);
    frame.set(this.pending.subarray(0, this.pendingLength), 0);
    frame.fill(MULAW_SILENCE, this.pendingLength);
    this.pendingLength = 0;
    return [frame];
  }

  /** Drops the held-back bytes (after a Twilio `clear`, they must not be played). */
  reset(): void {
    this.pendingLength = 0;
  }
}

function copyFrame(source: Uint8Array, offset: number): Buffer {
  // allocUnsafe takes a slice of Node's shared pool (no zero-fill); every byte is overwritten.
  const frame = Buffer.allocUnsafe(TWILIO_FRAME_BYTES);
  frame.set(source.subarray(offset, offset + TWILIO_FRAME_BYTES), 0);
  return frame;
}
