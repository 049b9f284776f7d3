/**
 * `PUT /api/numbers/:number` (SPEC §8, issue #14 item 9): it never rewrites the shipped
 * `numbers.example.yaml` (409 when no writable numbers file is configured), it edits the
 * numbers file in place so its comments survive, and a deeply nested body is refused before
 * anything that costs more than linear time in its depth.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { Bridge } from '../../src/app.js';
import { loadConfig } from '../../src/config/env.js';
import { EXAMPLE_NUMBERS_FILE } from '../../src/util/project-files.js';
import { parseProfiles } from '../../src/config/numbers.js';
import { startTestBridge } from '../support/bridge.js';
import { LogCapture } from '../support/log-capture.js';
import { tempDir } from '../support/tmp.js';

const put = (url: string, number: string, body: string) =>
  fetch(`${url}/api/numbers/${encodeURIComponent(number)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body,
  });

describe('with no numbers file of its own (the shipped example is in use)', async () => {
  const dir = tempDir();
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: path.join(dir, 'data') }, dir);
  const bridge = await Bridge.start({ config, logger: new LogCapture().logger, watchNumbers: false });
  afterAll(() => bridge.close());

  it('PUT answers 409 and leaves numbers.example.yaml untouched', async () => {
    expect(config.numbersFile).toBe(EXAMPLE_NUMBERS_FILE);
    const before = readFileSync(EXAMPLE_NUMBERS_FILE, 'utf8');
    const res = await put(bridge.localUrl, '+15551230001', JSON.stringify({ voice: 'sage' }));
    expect(res.status).toBe(409);
    expect(((await res.json()) as { error: string }).error).toMatch(/no writable numbers file.*numbers\.example\.yaml/);
    expect(readFileSync(EXAMPLE_NUMBERS_FILE, 'utf8')).toBe(before);
  });

  it('a bad profile is still answered as one (400 naming the field), as the README shows', async () => {
    const res = await put(bridge.localUrl, '+15551230001', JSON.stringify({ voice: 'robot' }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(
      /^numbers\.example\.yaml: numbers\."\+15551230001"\.voice: "robot" is not a known voice/,
    );
  });
});

const COMMENTED = `# Example Dental's lines. Owner: front desk (ext. 12).
defaults:
  # Shared by every line unless it says otherwise.
  instructions: You are a friendly receptionist for Example Dental.
  voice: alloy # the house voice

numbers:
  # Main line: office hours.
  "+15551230001":
    instructions: You are the main line of Example Dental.
    voice: verse # chosen by the owner
    greeting: Thanks for calling Example Dental!  # keep it short

  # After-hours line.
  "+15551230002":
    instructions: You are the after-hours line.
`;

describe('editing a commented numbers file', async () => {
  const { url, numbersFile } = await startTestBridge({ numbersYaml: COMMENTED });

  it('keeps every comment, and the edit reads back as sent', async () => {
    const changed = await put(url, '+15551230001', JSON.stringify({ instructions: 'New main line.', voice: 'verse' }));
    expect(changed.status).toBe(200);
    const added = await put(url, '+15551230003', JSON.stringify({ voice: 'sage' }));
    expect(added.status).toBe(200);
    const text = readFileSync(numbersFile, 'utf8');
    for (const comment of [
      "# Example Dental's lines. Owner: front desk (ext. 12).",
      '# Shared by every line unless it says otherwise.',
      '# the house voice',
      '# Main line: office hours.',
      '# chosen by the owner',
      '# After-hours line.',
    ])
      expect(text).toContain(comment);
    const profiles = parseProfiles(text, numbersFile);
    expect(profiles.byNumber.get('+15551230001')).toMatchObject({
      instructions: 'New main line.',
      voice: 'verse',
      greeting: null,
    });
    expect(profiles.byNumber.get('+15551230002')?.instructions).toBe('You are the after-hours line.');
    expect(profiles.byNumber.get('+15551230003')?.voice).toBe('sage');
    expect(text).toContain('"+15551230003":');
  });

  it('a profile nested 60 000 levels deep is refused fast, the file untouched', async () => {
    const before = readFileSync(numbersFile, 'utf8');
    const depth = 60_000;
    const body = `{"turn_detection":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    const startedAt = performance.now();
    const res = await put(url, '+15551230001', body);
    const elapsedMs = performance.now() - startedAt;
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/nested more than 32 levels/);
    // generous for a loaded machine: the point is linear time, not a tight bound
    expect(elapsedMs).toBeLessThan(2_000);
    expect(readFileSync(numbersFile, 'utf8')).toBe(before);
  });

  it('a numbers file that does not parse right now answers 409, not a rewrite', async () => {
    writeFileSync(numbersFile, `${COMMENTED}\n  bad: [unclosed\n`);
    const res = await put(url, '+15551230001', JSON.stringify({ voice: 'sage' }));
    expect(res.status).toBe(409);
    expect(readFileSync(numbersFile, 'utf8')).toContain('bad: [unclosed');
  });
});
