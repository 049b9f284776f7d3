/**
 * The operator console in a real browser (issue #20): Debian's Chromium driven by
 * playwright-core against the real bridge, the emulator and the simulated phone.
 *
 * A recorded call with a barge-in and a tool call is placed first; then the console logs in,
 * lists it, shows the cut turn, the tool call and a timeline whose lanes and markers match
 * `/api/calls/:sid/timeline`, plays its WAV (the call's duration ±100 ms) and seeks on a click;
 * Live shows a running call's transcript and hangs it up; a bad profile edit shows the field
 * error and leaves the file alone. No page logs a console error. Screenshots go to
 * test/browser/screenshots/ (git-ignored).
 *
 * Without /usr/bin/chromium the file prints one line and skips — except under CI=true, where a
 * missing browser fails the run (`.ci/run` installs it).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Timeline } from '../../src/recording/timeline.js';
import type { SimulatedPhone } from '../../src/sim/phone.js';
import { callerClip, silence, startCallHarness, until, type CallHarness } from '../support/call-harness.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const HAVE_BROWSER = existsSync(CHROMIUM);
const SCREENSHOTS = path.join(import.meta.dirname, 'screenshots');
const TOKEN = 'console-test-token-0123456789';

if (!HAVE_BROWSER) {
  if (process.env['CI'] === 'true')
    throw new Error(`console browser tests: no Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does)`);
  process.stdout.write(`console browser tests skipped: no Chromium at ${CHROMIUM}\n`);
}

/** The part of an `<audio>` element the tests read inside the page (no DOM types in the test project). */
interface AudioLike {
  readyState: number;
  duration: number;
  currentTime: number;
  addEventListener(type: string, fn: () => void, options: { once: boolean }): void;
}

const NUMBERS = `
defaults:
  instructions: Test line.
  voice: alloy
  greeting: null
  turn_detection: { type: server_vad, threshold: 0.5, prefix_padding_ms: 300, silence_duration_ms: 500 }
  transcription: { model: whisper-1 }
  tools: [hang_up, send_dtmf]
numbers:
  "+15551230001":
    instructions: The front desk.
    voice: verse
`;

describe.skipIf(!HAVE_BROWSER)('operator console in Chromium', { sequential: true }, () => {
  let h: CallHarness;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  let sid = '';

  beforeAll(async () => {
    h = await startCallHarness({ numbersYaml: NUMBERS, env: { ADMIN_TOKEN: TOKEN, RECORD_CALLS: '1' } });
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--autoplay-policy=no-user-gesture-required',
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
  const api = async <T>(url: string): Promise<T> => {
    const res = await fetch(`${h.url}${url}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status, url).toBe(200);
    return (await res.json()) as T;
  };

  it('a call with a barge-in and a tool call is recorded', { timeout: 30_000 }, async () => {
    const interruptAtMs = 5_600;
    const hours = callerClip('caller_hours.ulaw8k.wav');
    const script = Buffer.concat([
      silence(300),
      hours,
      silence(interruptAtMs - 300 - hours.length / 8),
      callerClip('caller_interrupt.ulaw8k.wav'),
      silence(6_000),
    ]);
    const sessionP = h.emulator.nextSession();
    const phone = h.phone({ to: '+15551230001', callerAudio: script });
    await phone.dial();
    const model = await sessionP;
    model.queueResponse(
      { kind: 'clip', clip: 'long', pacing: { speed: 2 } },
      { kind: 'toolCall', name: 'send_dtmf', arguments: { digits: '1' }, callId: 'call_console' },
    );
    await model.waitForReceived('conversation.item.truncate');
    // send_dtmf answers the model at once and asks for no response: its output item is the end of the turn
    await until(
      () => model.received.some((e) => JSON.stringify(e).includes('function_call_output')),
      15_000,
      'the tool output',
    );
    await until(() => phone.stats.marksEchoed > 0, 2_000, 'audio heard');
    await phone.hangUp();
    await until(() => h.bridge.activeCalls === 0, 5_000, 'the call to end');
    sid = phone.callSid;
    await until(() => existsSync(path.join(h.dir, 'data/recordings', `${sid}.jsonl`)), 5_000, 'the recording');
  });

  it('logs in with the admin token and lists the call', { timeout: 20_000 }, async () => {
    const res = await fetch(`${h.url}/console`);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('name="token"');
    expect((await fetch(`${h.url}/api/calls`)).status).toBe(401);
    await page.goto(`${h.url}/console`);
    await shot('login');
    await page.getByLabel('Admin token').fill(TOKEN);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForSelector(`tr[data-call="${sid}"]`);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'bridge_console')).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    await shot('calls');
  });

  it('shows the cut turn, the tool call and a timeline that matches the API', { timeout: 20_000 }, async () => {
    const timeline = await api<Timeline>(`/api/calls/${sid}/timeline`);
    expect(timeline.bargeIns.length).toBeGreaterThanOrEqual(1);
    expect(timeline.tools.map((t) => t.name)).toContain('send_dtmf');
    await page.goto(`${h.url}/console#/call/${sid}`);
    await page.waitForSelector('svg.timeline');
    expect(await page.locator('.turn.truncated .cut').count()).toBeGreaterThanOrEqual(1);
    await expect(page.locator('ul.tools').textContent()).resolves.toContain('send_dtmf');
    expect(await page.locator('.caller .segment').count()).toBe(timeline.caller.length);
    expect(await page.locator('.assistant .segment').count()).toBe(timeline.assistant.length);
    expect(await page.locator('.tool-marker').count()).toBe(timeline.tools.length);
    const bargeXs = await page
      .locator('line.barge-in')
      .evaluateAll((ls: { getAttribute(name: string): string | null }[]) =>
        ls.map((l) => Number(l.getAttribute('x1'))),
      );
    expect(bargeXs).toHaveLength(timeline.bargeIns.length);
    bargeXs.forEach((x, i) => expect(x).toBeCloseTo((timeline.bargeIns[i]!.atMs / timeline.durationMs) * 1000, 1));
    expect(await page.locator('.latency-mark').count()).toBe(timeline.latencies.length);

    // the WAV is the call's length, and a click on the timeline seeks the player and moves the playhead
    const seconds = await page.locator('audio').evaluate(
      (a: AudioLike) =>
        new Promise<number>((resolve) => {
          if (a.readyState >= 1) resolve(a.duration);
          else a.addEventListener('loadedmetadata', () => resolve(a.duration), { once: true });
        }),
    );
    expect(Math.abs(seconds * 1000 - timeline.durationMs)).toBeLessThanOrEqual(100);
    const box = (await page.locator('svg.timeline').boundingBox())!;
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    const at = await page.locator('audio').evaluate((a: AudioLike) => a.currentTime);
    expect(Math.abs(at - seconds / 2)).toBeLessThan(0.3);
    const headX = Number(await page.locator('line.playhead').getAttribute('x1'));
    expect(headX).toBeGreaterThan(470);
    expect(headX).toBeLessThan(530);
    await shot('call');
    // the README's picture (header, metadata, timeline and player): docs/console.png only when asked
    // for (UPDATE_DOCS_SCREENSHOT=1), so a test run leaves the tree as it was
    await page.screenshot({
      path:
        process.env['UPDATE_DOCS_SCREENSHOT'] === '1'
          ? path.join(import.meta.dirname, '../../docs/console.png')
          : path.join(SCREENSHOTS, 'readme.png'),
      clip: { x: 0, y: 0, width: 1280, height: 560 },
    });
  });

  it('Live shows a running call and its transcript, and Hang up ends it', { timeout: 30_000 }, async () => {
    await page.goto(`${h.url}/console#/live`);
    await page.waitForSelector('#live-h');
    const sessionP = h.emulator.nextSession();
    const phone: SimulatedPhone = h.phone({
      to: '+15551230001',
      callerAudio: Buffer.concat([silence(300), callerClip('caller_hours.ulaw8k.wav'), silence(20_000)]),
    });
    let closedByBridge = false;
    phone.on('closed', () => (closedByBridge = true));
    await phone.dial();
    await sessionP;
    const card = page.locator(`article[data-call="${phone.callSid}"]`);
    await card.waitFor();
    await card.locator('.turn.assistant').first().waitFor({ timeout: 15_000 });
    await shot('live');
    await card.getByRole('button', { name: 'Hang up' }).click();
    await until(() => closedByBridge, 5_000, 'the phone to see the bridge end the call');
    await card.locator('.ended-note').waitFor();
    const record = await api<{ outcome: string; detail: string | null }>(`/api/calls/${phone.callSid}`);
    expect(record.outcome).toBe('completed');
  });

  it('a bad profile edit shows the field error and changes nothing', { timeout: 15_000 }, async () => {
    const before = readFileSync(h.numbersFile, 'utf8');
    await page.goto(`${h.url}/console#/numbers`);
    const form = page.locator('form[data-number="+15551230001"]');
    await form.getByLabel('voice').fill('robot');
    await form.getByRole('button', { name: 'Review changes' }).click();
    await expect(form.locator('pre.diff').textContent()).resolves.toContain('+ voice: "robot"');
    await form.getByRole('button', { name: 'Save' }).click();
    const error = form.locator('.field-error:not([hidden])');
    await error.waitFor();
    await expect(error.textContent()).resolves.toContain('is not a known voice');
    await shot('numbers');
    expect(readFileSync(h.numbersFile, 'utf8')).toBe(before);
  });

  it('Overview and Dial render, and no page logged a console error', { timeout: 15_000 }, async () => {
    await page.goto(`${h.url}/console#/overview`);
    await page.waitForSelector('svg.chart');
    expect(await page.locator('svg.chart').count()).toBe(3);
    await shot('overview');
    await page.goto(`${h.url}/console#/dial`);
    await page.waitForSelector('form.dial');
    await shot('dial');
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${h.url}/console#/call/${sid}`);
    await page.waitForSelector('svg.timeline');
    await shot('call-dark');
    // the one error a browser logs: the refused save of the bad profile edit (its 400 answer)
    expect(consoleErrors).toEqual([
      expect.stringMatching(/#\/numbers: Failed to load resource: the server responded with a status of 400/),
    ]);
  });
});
