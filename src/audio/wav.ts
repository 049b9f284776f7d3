/**
 * RIFF WAV read/write for the encodings this product meets: PCM16 LE (format 1) and
 * G.711 μ-law (format 7), mono. Pure: buffers in, buffers out.
 *
 * Used by the simulated phone (caller WAV in, what the caller heard out), the emulator's
 * speech clips, tests and benchmarks.
 */

export type WavEncoding = 'pcm16' | 'mulaw';

export interface WavAudio {
  encoding: WavEncoding;
  sampleRateHz: number;
  channels: number;
  /** the sample bytes, exactly as stored (no header) */
  data: Buffer;
}

export type WavResult = { ok: true; value: WavAudio } | { ok: false; reason: string };

const FORMAT_PCM = 1;
const FORMAT_MULAW = 7;
const FORMAT_EXTENSIBLE = 0xfffe;

/** Parses a WAV file. Chunks other than `fmt ` and `data` are skipped; a truncated `data` chunk is read up to the end of the buffer. */
export function parseWav(file: Uint8Array): WavResult {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    return { ok: false, reason: 'not a RIFF/WAVE file' };
  }
  let offset = 12;
  let fmt: { format: number; channels: number; rate: number; bits: number } | null = null;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) return { ok: false, reason: 'fmt chunk too short' };
      let format = buf.readUInt16LE(body);
      if (format === FORMAT_EXTENSIBLE && size >= 26 && body + 26 <= buf.length) format = buf.readUInt16LE(body + 24);
      fmt = { format, channels: buf.readUInt16LE(body + 2), rate: buf.readUInt32LE(body + 4), bits: buf.readUInt16LE(body + 14) };
    } else if (id === 'data') {
      if (fmt === null) return { ok: false, reason: 'data chunk before fmt chunk' };
      const end = Math.min(buf.length, body + size);
      const data = Buffer.from(buf.subarray(body, end));
      if (fmt.format === FORMAT_PCM && fmt.bits === 16) {
        return { ok: true, value: { encoding: 'pcm16', sampleRateHz: fmt.rate, channels: fmt.channels, data } };
      }
      if (fmt.format === FORMAT_MULAW && fmt.bits === 8) {
        return { ok: true, value: { encoding: 'mulaw', sampleRateHz: fmt.rate, channels: fmt.channels, data } };
      }
      return { ok: false, reason: `unsupported WAV format ${fmt.format} with ${fmt.bits} bits (need PCM16 or μ-law)` };
    }
    offset = body + size + (size % 2);
  }
  return { ok: false, reason: 'no data chunk' };
}

/** Builds a WAV file around `data` (PCM16 LE or μ-law bytes). */
export function encodeWav(audio: WavAudio): Buffer {
  const { encoding, sampleRateHz, channels, data } = audio;
  const bytesPerSample = encoding === 'pcm16' ? 2 : 1;
  const fmtSize = encoding === 'pcm16' ? 16 : 18;
  const factSize = encoding === 'mulaw' ? 12 : 0;
  const header = Buffer.alloc(12 + 8 + fmtSize + factSize + 8);
  let o = 0;
  header.write('RIFF', o); o += 4;
  header.writeUInt32LE(header.length - 8 + data.length + (data.length % 2), o); o += 4;
  header.write('WAVE', o); o += 4;
  header.write('fmt ', o); o += 4;
  header.writeUInt32LE(fmtSize, o); o += 4;
  header.writeUInt16LE(encoding === 'pcm16' ? FORMAT_PCM : FORMAT_MULAW, o); o += 2;
  header.writeUInt16LE(channels, o); o += 2;
  header.writeUInt32LE(sampleRateHz, o); o += 4;
  header.writeUInt32LE(sampleRateHz * channels * bytesPerSample, o); o += 4;
  header.writeUInt16LE(channels * bytesPerSample, o); o += 2;
  header.writeUInt16LE(bytesPerSample * 8, o); o += 2;
  if (encoding === 'mulaw') {
    header.writeUInt16LE(0, o); o += 2; // cbSize
    header.write('fact', o); o += 4;
    header.writeUInt32LE(4, o); o += 4;
    header.writeUInt32LE(data.length / channels, o); o += 4;
  }
  header.write('data', o); o += 4;
  header.writeUInt32LE(data.length, o);
  return Buffer.concat([header, data, Buffer.alloc(data.length % 2)]);
}

/** Duration in ms of a WAV's audio. */
export function wavDurationMs(audio: WavAudio): number {
  const bytesPerSample = audio.encoding === 'pcm16' ? 2 : 1;
  return (audio.data.length / (bytesPerSample * audio.channels * audio.sampleRateHz)) * 1000;
}
