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

/** The `fmt ` fields and the `data` chunk of a RIFF/WAVE file, whatever its encoding. */
export interface WavChunks {
  /** the format tag (the sub-format for WAVE_FORMAT_EXTENSIBLE) */
  format: number;
  channels: number;
  rateHz: number;
  bits: number;
  /** from the start of the `data` chunk to the end of the file */
  rest: Buffer;
  /** the `data` chunk's declared size (0 or past the end when a stream was never finalised) */
  declaredBytes: number;
}

/** Walks the RIFF chunks to `fmt ` and `data`; other chunks are skipped. */
export function readWavChunks(file: Uint8Array): { ok: true; value: WavChunks } | { ok: false; reason: string } {
  const buf = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') {
    return { ok: false, reason: 'not a RIFF/WAVE file' };
  }
  let offset = 12;
  let fmt: { format: number; channels: number; rateHz: number; bits: number } | null = null;
  while (offset + 8 <= buf.length) {
    const id = buf.toString('ascii', offset, offset + 4);
    const size = buf.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > buf.length) return { ok: false, reason: 'fmt chunk too short' };
      let format = buf.readUInt16LE(body);
      if (format === FORMAT_EXTENSIBLE && size >= 26 && body + 26 <= buf.length) format = buf.readUInt16LE(body + 24);
      fmt = {
        format,
        channels: buf.readUInt16LE(body + 2),
        rateHz: buf.readUInt32LE(body + 4),
        bits: buf.readUInt16LE(body + 14),
      };
    } else if (id === 'data') {
      if (fmt === null) return { ok: false, reason: 'data chunk before fmt chunk' };
      return { ok: true, value: { ...fmt, rest: buf.subarray(body), declaredBytes: size } };
    }
    offset = body + size + (size % 2);
  }
  return { ok: false, reason: 'no data chunk' };
}

/** Parses a PCM16 or μ-law WAV file; a truncated `data` chunk is read up to the end of the buffer. */
export function parseWav(file: Uint8Array): WavResult {
  const chunks = readWavChunks(file);
  if (!chunks.ok) return chunks;
  const { format, bits, rateHz, channels, rest, declaredBytes } = chunks.value;
  const data = Buffer.from(rest.subarray(0, Math.min(rest.length, declaredBytes)));
  if (format === FORMAT_PCM && bits === 16)
    return { ok: true, value: { encoding: 'pcm16', sampleRateHz: rateHz, channels, data } };
  if (format === FORMAT_MULAW && bits === 8)
    return { ok: true, value: { encoding: 'mulaw', sampleRateHz: rateHz, channels, data } };
  return { ok: false, reason: `unsupported WAV format ${format} with ${bits} bits (need PCM16 or μ-law)` };
}

/** Builds a WAV file around `data` (PCM16 LE or μ-law bytes). */
export function encodeWav(audio: WavAudio): Buffer {
  const { encoding, sampleRateHz, channels, data } = audio;
  const bytesPerSample = encoding === 'pcm16' ? 2 : 1;
  const fmtSize = encoding === 'pcm16' ? 16 : 18;
  const factSize = encoding === 'mulaw' ? 12 : 0;
  const header = Buffer.alloc(12 + 8 + fmtSize + factSize + 8);
  let o = 0;
  header.write('RIFF', o);
  o += 4;
  header.writeUInt32LE(header.length - 8 + data.length + (data.length % 2), o);
  o += 4;
  header.write('WAVE', o);
  o += 4;
  header.write('fmt ', o);
  o += 4;
  header.writeUInt32LE(fmtSize, o);
  o += 4;
  header.writeUInt16LE(encoding === 'pcm16' ? FORMAT_PCM : FORMAT_MULAW, o);
  o += 2;
  header.writeUInt16LE(channels, o);
  o += 2;
  header.writeUInt32LE(sampleRateHz, o);
  o += 4;
  header.writeUInt32LE(sampleRateHz * channels * bytesPerSample, o);
  o += 4;
  header.writeUInt16LE(channels * bytesPerSample, o);
  o += 2;
  header.writeUInt16LE(bytesPerSample * 8, o);
  o += 2;
  if (encoding === 'mulaw') {
    header.writeUInt16LE(0, o);
    o += 2; // cbSize
    header.write('fact', o);
    o += 4;
    header.writeUInt32LE(4, o);
    o += 4;
    header.writeUInt32LE(data.length / channels, o);
    o += 4;
  }
  header.write('data', o);
  o += 4;
  header.writeUInt32LE(data.length, o);
  return Buffer.concat([header, data, Buffer.alloc(data.length % 2)]);
}
