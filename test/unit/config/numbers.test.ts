import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { EXAMPLE_NUMBERS_FILE } from '../../../src/util/project-files.js';
import { lookupProfile, NumbersRegistry, parseProfiles } from '../../../src/config/numbers.js';
import { VirtualClock } from '../../../src/util/clock.js';
import { ConfigError } from '../../../src/util/errors.js';
import { silentLogger } from '../../../src/util/logger.js';
import { tempDir } from '../../support/tmp.js';

const FIXTURE = path.join(import.meta.dirname, '../../fixtures/numbers/profiles.yaml');
const text = readFileSync(FIXTURE, 'utf8');

describe('profiles: inheritance from defaults', () => {
  const profiles = parseProfiles(text, FIXTURE);

  it('a number overrides what it sets and inherits the rest', () => {
    const p = profiles.byNumber.get('+15551230001')!;
    expect(p).toMatchObject({
      key: '+15551230001',
      instructions: 'After-hours instructions.',
      voice: 'verse',
      greeting: 'Hello from defaults.',
      greetingInterruptible: true,
      transcription: { model: 'whisper-1' },
      tools: ['hang_up', 'transfer_call'],
      transferTo: '+15550000000',
      modelAudio: 'pcm16',
    });
  });

  it('nested objects merge field by field (turn_detection)', () => {
    expect(profiles.byNumber.get('+15551230001')!.turnDetection).toEqual({
      type: 'server_vad',
      threshold: 0.5,
      prefixPaddingMs: 300,
      silenceDurationMs: 800,
    });
  });

  it('null clears an inherited greeting; pcmu and greeting_interruptible are per number', () => {
    expect(profiles.byNumber.get('+15551230002')).toMatchObject({
      greeting: null,
      modelAudio: 'pcmu',
      greetingInterruptible: false,
      instructions: 'Default instructions.',
    });
  });

  it('reads unquoted E.164 keys as written (YAML would make them integers)', () => {
    expect([...profiles.byNumber.keys()]).toEqual(['+15551230001', '+15551230002']);
  });

  it('unknown numbers get the defaults profile, or a reject with reject_unknown', () => {
    expect(lookupProfile(profiles, '+19999999999')).toMatchObject({
      kind: 'profile',
      profile: { key: 'defaults', instructions: 'Default instructions.' },
    });
    const strict = parseProfiles(text.replace('reject_unknown: false', 'reject_unknown: true'), FIXTURE);
    expect(lookupProfile(strict, '+19999999999')).toEqual({ kind: 'reject' });
    expect(lookupProfile(strict, '+15551230002')).toMatchObject({ kind: 'profile', profile: { key: '+15551230002' } });
  });

  it('the shipped example file is valid', () => {
    const example = parseProfiles(readFileSync(EXAMPLE_NUMBERS_FILE, 'utf8'), EXAMPLE_NUMBERS_FILE);
    expect(example.defaults.greeting).toMatch(/Example Dental/);
    expect(example.byNumber.get('+15551230001')?.voice).toBe('verse');
  });
});

describe('profiles: a broken file is reported with file and field path', () => {
  const cases: [string, string, RegExp][] = [
    [
      'unknown voice',
      text.replace('voice: verse', 'voice: robot'),
      /^profiles\.yaml: numbers\."\+15551230001"\.voice: "robot" is not a known voice \(alloy/,
    ],
    [
      'non-E.164 key',
      text.replace('"+15551230002":', '"5551230002":'),
      /^profiles\.yaml: numbers\."5551230002": key is not an E\.164 number/,
    ],
    [
      'threshold out of range',
      text.replace('threshold: 0.5', 'threshold: 7'),
      /^profiles\.yaml: defaults\.turn_detection\.threshold: 7 /,
    ],
    [
      'misspelled field',
      text.replace('voice: alloy', 'voise: alloy'),
      /^profiles\.yaml: defaults\.voise: is not a known field/,
    ],
    [
      'unknown tool',
      text.replace('tools: [hang_up]', 'tools: [hang_up, launch_rocket]'),
      /^profiles\.yaml: defaults\.tools\[1\]: "launch_rocket" is not a built-in tool/,
    ],
    [
      'transfer without target',
      text.replace('transfer_to: "+15550000000"', ''),
      /numbers\."\+15551230001"\.transfer_to: is required when tools include transfer_call/,
    ],
    ['bad YAML', 'defaults:\n  voice: [unclosed\n', /^profiles\.yaml:\d+:\d+: not valid YAML/],
    [
      'bad transfer number',
      text.replace('transfer_to: "+15550000000"', 'transfer_to: "555-0000"'),
      /transfer_to: "555-0000" is not an E\.164 number/,
    ],
  ];
  it.each(cases)('%s', (_name, broken, message) => {
    let error: unknown;
    try {
      parseProfiles(broken, FIXTURE);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(message);
    expect((error as ConfigError).where).toContain(FIXTURE);
  });
});

describe('NumbersRegistry', () => {
  it('a valid edit applies to the next lookup; an invalid edit keeps the last good profiles', () => {
    const dir = tempDir();
    const file = path.join(dir, 'numbers.yaml');
    writeFileSync(file, text);
    const registry = NumbersRegistry.open(file, silentLogger(), new VirtualClock(), { watch: false });
    expect(registry.lookup('+15551230001')).toMatchObject({ profile: { voice: 'verse' } });

    writeFileSync(file, text.replace('voice: verse', 'voice: coral'));
    expect(registry.reload()).toBeNull();
    expect(registry.lookup('+15551230001')).toMatchObject({ profile: { voice: 'coral' } });

    writeFileSync(file, text.replace('voice: verse', 'voice: robot'));
    const error = registry.reload();
    expect(error?.message).toMatch(/numbers\."\+15551230001"\.voice: "robot"/);
    expect(registry.lookup('+15551230001')).toMatchObject({ profile: { voice: 'coral' } });
    registry.close();
  });

  it('putNumber validates with the file schema and writes atomically; a bad profile leaves the file unchanged', () => {
    const dir = tempDir();
    const file = path.join(dir, 'numbers.yaml');
    writeFileSync(file, text);
    const registry = NumbersRegistry.open(file, silentLogger(), new VirtualClock(), { watch: false });
    expect(() => registry.putNumber('+15551230003', { voice: 'robot' })).toThrow(/numbers\."\+15551230003"\.voice/);
    expect(readFileSync(file, 'utf8')).toBe(text);
    const p = registry.putNumber('+15551230003', { voice: 'sage', instructions: 'New line.' });
    expect(p).toMatchObject({
      key: '+15551230003',
      voice: 'sage',
      instructions: 'New line.',
      greeting: 'Hello from defaults.',
    });
    const reread = parseProfiles(readFileSync(file, 'utf8'), file);
    expect(reread.byNumber.get('+15551230003')?.voice).toBe('sage');
    expect(reread.byNumber.get('+15551230001')?.voice).toBe('verse');
    registry.close();
  });

  it('a missing file stops start-up with a message naming it', () => {
    expect(() => NumbersRegistry.open('/nonexistent/numbers.yaml', silentLogger(), new VirtualClock())).toThrow(
      /\/nonexistent\/numbers\.yaml: cannot read the numbers file \(ENOENT\)/,
    );
  });
});
