/**
 * JSON errors everywhere (SPEC §8, issue #14 item 7): whatever is wrong with a request body —
 * not JSON, too large, a content type, encoding or charset the route does not take — or with
 * its URL, every route answers `{"error": "..."}` with the right status: never express's HTML
 * page, a stack trace or a file path.
 */
import { describe, expect, it } from 'vitest';

import { startTestBridge } from '../support/bridge.js';

interface Case {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  status: number;
  error: RegExp;
}

const form = { 'content-type': 'application/x-www-form-urlencoded' };
const json = { 'content-type': 'application/json' };

const CASES: Case[] = [
  {
    name: 'a 100 KB webhook body',
    method: 'POST',
    path: '/twilio/voice',
    headers: form,
    body: `CallSid=CA1&Junk=${'x'.repeat(100_000)}`,
    status: 413,
    error: /too large/,
  },
  {
    name: 'a status callback in an unknown content encoding',
    method: 'POST',
    path: '/twilio/status',
    headers: { ...form, 'content-encoding': 'x-made-up' },
    body: 'CallSid=CA1',
    status: 415,
    error: /Content-Encoding/,
  },
  {
    name: 'a webhook in an unsupported charset',
    method: 'POST',
    path: '/twilio/voice',
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=klingon' },
    body: 'CallSid=CA1',
    status: 415,
    error: /charset/,
  },
  {
    name: 'a profile that is not JSON',
    method: 'PUT',
    path: '/api/numbers/%2B15551230001',
    headers: json,
    body: '{"voice": "sage"',
    status: 400,
    error: /not valid JSON/,
  },
  {
    name: 'a 300 KB profile',
    method: 'PUT',
    path: '/api/numbers/%2B15551230001',
    headers: json,
    body: JSON.stringify({ instructions: 'x'.repeat(300_000) }),
    status: 413,
    error: /too large/,
  },
  {
    name: 'a profile sent as text/plain',
    method: 'PUT',
    path: '/api/numbers/%2B15551230001',
    headers: { 'content-type': 'text/plain' },
    body: '{"voice":"sage"}',
    status: 415,
    error: /Content-Type: application\/json/,
  },
  {
    name: 'a URL parameter that does not decode',
    method: 'GET',
    path: '/api/calls/%E0%A4%A',
    status: 400,
    error: /bad request/,
  },
  {
    name: 'an unknown route',
    method: 'POST',
    path: '/wp-login.php',
    headers: form,
    body: 'a=1',
    status: 404,
    error: /not found/,
  },
];

describe('JSON errors on every route', async () => {
  const { url, logs, dir } = await startTestBridge();

  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const res = await fetch(`${url}${c.path}`, {
      method: c.method,
      ...(c.headers ? { headers: c.headers } : {}),
      ...(c.body !== undefined ? { body: c.body } : {}),
    });
    const text = await res.text();
    expect(res.status).toBe(c.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['error']);
    expect(body['error']).toMatch(c.error);
    expect(text).not.toMatch(/<html|<pre|\n\s+at |node_modules/i);
    expect(text).not.toContain(dir);
    expect(text).not.toContain(process.cwd());
  });

  it('a body too large is logged, with its route', async () => {
    const line = await logs.waitFor('http request body too large');
    expect(line['status']).toBe(413);
    expect(['/twilio/voice', '/api/numbers/%2B15551230001']).toContain(line['path']);
  });
});
