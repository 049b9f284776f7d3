/**
 * The design's boundary rules (DESIGN.md, STYLE §2.4), enforced: a change that breaks one
 * fails `npm test` with the file and the import that broke it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : full.endsWith('.ts') ? [full] : [];
  });
}

const ALL = files(SRC).map((file) => ({ file: path.relative(SRC, file), text: readFileSync(file, 'utf8') }));

/** Module specifiers imported (statically or dynamically) by a file, with `import type` ones marked. */
function imports(text: string): { spec: string; typeOnly: boolean }[] {
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm))
    out.push({ spec: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) out.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/import\(\s*'([^']+)'\s*\)/g)) out.push({ spec: m[1]!, typeOnly: false });
  return out;
}

/** The pure core: no IO, no sockets, no logging, no real clock (STYLE §2.4). */
const PURE = (f: string) =>
  f.startsWith('audio/') ||
  f.startsWith('protocol/') ||
  (f.startsWith('call/') && f !== 'call/call-runner.ts') ||
  f === 'security/stream-token.ts';
const FORBIDDEN_IN_PURE =
  /^(ws|express|twilio|pino|better-sqlite3|node:fs|node:fs\/promises|fs|node:net|net|node:http|http|node:child_process)$/;

describe('architecture', () => {
  it.each(ALL.filter((f) => PURE(f.file)).map((f) => [f.file, f.text]))(
    '%s (pure core) imports no IO, sockets, logger or real clock',
    (_file, text) => {
      for (const { spec, typeOnly } of imports(text)) {
        expect(FORBIDDEN_IN_PURE.test(spec), `imports ${spec}`).toBe(false);
        if (/util\/clock(\.js)?$/.test(spec))
          expect(typeOnly, `imports the clock implementation from ${spec} (only the Clock type is allowed)`).toBe(true);
        if (/util\/logger(\.js)?$/.test(spec)) expect(typeOnly, `imports the logger implementation`).toBe(true);
      }
    },
  );

  it(
    'time is injected: nothing but util/clock.ts reads Date.now() or sets timers ' +
      '(the simulated phone is the outside world)',
    () => {
      const offenders = ALL.filter(
        (f) =>
          f.file !== 'util/clock.ts' &&
          f.file !== 'sim/phone.ts' &&
          /\bDate\.now\(\)|\bsetTimeout\(|\bsetInterval\(/.test(f.text),
      ).map((f) => f.file);
      expect(offenders).toEqual([]);
    },
  );

  it('protocol/ stands on its own: it imports only protocol/ modules and zod (the rest builds on it)', () => {
    const offenders = ALL.filter((f) => f.file.startsWith('protocol/')).flatMap((f) =>
      imports(f.text)
        .map((i) => i.spec)
        .filter((spec) => (spec.startsWith('.') ? !/^\.\/[\w-]+\.js$/.test(spec) : spec !== 'zod'))
        .map((spec) => `${f.file} imports ${spec}`),
    );
    expect(offenders).toEqual([]);
  });

  it('src/ has no import cycles (type-only imports included: a circle ties two modules into one)', () => {
    const byPath = new Map(ALL.map((f) => [f.file, f]));
    const edges = (file: string) =>
      imports(byPath.get(file)!.text)
        .map((i) => i.spec)
        .filter((spec) => spec.startsWith('.'))
        .map((spec) => path.posix.join(path.posix.dirname(file), spec.replace(/\.js$/, '.ts')))
        .filter((dep) => byPath.has(dep));
    const cycles: string[] = [];
    const done = new Set<string>();
    const visit = (file: string, trail: string[]) => {
      const at = trail.indexOf(file);
      if (at >= 0) return void cycles.push([...trail.slice(at), file].join(' → '));
      if (done.has(file)) return;
      for (const dep of edges(file)) visit(dep, [...trail, file]);
      done.add(file);
    };
    for (const file of byPath.keys()) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it('links never import each other, and the Twilio side does not know the model provider', () => {
    for (const f of ALL.filter((x) => x.file.startsWith('links/'))) {
      const own = path.basename(f.file, '.ts');
      for (const { spec } of imports(f.text)) {
        const other = /^\.\/(.+)\.js$/.exec(spec)?.[1];
        if (other !== undefined && other !== 'providers') expect(other, `${f.file} imports links/${other}`).toBe(own);
      }
    }
    const twilioLink = ALL.find((f) => f.file === 'links/twilio-link.ts')!;
    expect(
      imports(twilioLink.text)
        .map((i) => i.spec)
        .filter((s) => /realtime|providers|emulator/.test(s)),
    ).toEqual([]);
  });

  it(
    'wire spellings stay in protocol/ (and the emulator and the replayer, which work on the wire itself): ' +
      'the session never sees them',
    () => {
      const wireNames =
        /'(response\.output_audio\.delta|response\.audio\.delta|input_audio_buffer\.speech_started|conversation\.item\.truncate|session\.update)'/;
      const offenders = ALL.filter(
        (f) =>
          !f.file.startsWith('protocol/') &&
          !f.file.startsWith('emulator/') &&
          !f.file.startsWith('recording/') &&
          wireNames.test(f.text),
      ).map((f) => f.file);
      expect(offenders).toEqual([]);
    },
  );

  it('only app.ts builds the bridge: no other src module constructs a link, store, recorder or server', () => {
    const constructs = /new (TwilioLink|RealtimeLink|CallsRepo|CallRecorder|NumbersRegistry|BridgeMetrics)\(/g;
    const offenders = ALL.filter((f) => f.file !== 'app.ts')
      // a class's own static factory is fine
      .flatMap((f) =>
        [...f.text.matchAll(constructs)]
          .filter((m) => !f.text.includes(`class ${m[1]}`))
          .map((m) => `${f.file}: new ${m[1]}`),
      );
    expect(offenders).toEqual([]);
  });

  it('one way to build a call: only call/call-factory.ts makes a session or runner; app and replayer use it', () => {
    const offenders = ALL.filter((f) => f.file !== 'call/call-factory.ts').flatMap((f) =>
      [...f.text.matchAll(/new (CallSession|CallRunner)\(/g)].map((m) => `${f.file}: new ${m[1]}`),
    );
    expect(offenders).toEqual([]);
    for (const root of ['app.ts', 'recording/replayer.ts'])
      expect(ALL.find((f) => f.file === root)!.text, `${root} builds its call with buildCall`).toMatch(/buildCall\(/);
  });
});
