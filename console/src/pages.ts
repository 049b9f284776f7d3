/** The console's pages (SPEC §12). Each returns its content; `main.ts` routes by the URL hash. */
import { ApiError, getJson, sendJson, type CallRecord, type Timeline } from './api.js';
import { el, errorBox, fmtMs, fmtTime, svg } from './dom.js';
import { timelineView } from './timeline-view.js';

const PAGE_SIZE = 50;

function outcomeBadge(outcome: string): HTMLElement {
  return el('span', { class: `badge outcome-${outcome}` }, outcome.replace(/_/g, ' '));
}

// ── Calls ────────────────────────────────────────────────────────────────────

export async function callsPage(params: URLSearchParams): Promise<HTMLElement> {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const key of ['to', 'since', 'until', 'cursor']) {
    const v = params.get(key);
    if (v) query.set(key, v);
  }
  const outcome = params.get('outcome') ?? '';
  const text = (params.get('q') ?? '').toLowerCase();
  const form = el(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter calls' },
    field('To number', el('input', { name: 'to', value: params.get('to') ?? '', placeholder: '+15551230001' })),
    field('Outcome', el('input', { name: 'outcome', value: outcome, placeholder: 'completed' })),
    field('Since', el('input', { name: 'since', type: 'date', value: params.get('since') ?? '' })),
    field('Text in transcript', el('input', { name: 'q', value: params.get('q') ?? '' })),
    el('button', { type: 'submit' }, 'Filter'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (typeof v === 'string' && v !== '') next.set(k, v);
    location.hash = `#/calls?${next.toString()}`;
  });
  const section = el('section', { 'aria-labelledby': 'calls-h' }, el('h1', { id: 'calls-h' }, 'Calls'), form);
  try {
    const page = await getJson<{ calls: CallRecord[]; next: string | null }>(`/api/calls?${query.toString()}`);
    const calls = page.calls.filter(
      (c) =>
        (outcome === '' || c.outcome === outcome) &&
        (text === '' || c.turns.some((t) => t.text.toLowerCase().includes(text))),
    );
    const rows = calls.map((c) =>
      el(
        'tr',
        { 'data-call': c.callSid },
        el('td', {}, el('a', { href: `#/call/${encodeURIComponent(c.callSid)}` }, fmtTime(c.startedAt))),
        el('td', {}, c.from),
        el('td', {}, c.to),
        el('td', {}, outcomeBadge(c.outcome)),
        el('td', { class: 'num' }, c.durationMs === null ? '—' : fmtMs(c.durationMs)),
        el('td', { class: 'num' }, String(c.bargeIns)),
        el('td', { class: 'num' }, String(c.turns.length)),
      ),
    );
    section.append(
      el(
        'table',
        { class: 'calls' },
        el('caption', {}, `${calls.length} calls on this page`),
        el(
          'thead',
          {},
          el(
            'tr',
            {},
            ...['Started', 'From', 'To', 'Outcome', 'Duration', 'Barge-ins', 'Turns'].map((h) =>
              el('th', { scope: 'col' }, h),
            ),
          ),
        ),
        el('tbody', {}, ...rows),
      ),
    );
    if (page.next !== null) {
      const next = new URLSearchParams(params);
      next.set('cursor', page.next);
      section.append(el('a', { class: 'more', href: `#/calls?${next.toString()}` }, 'Older calls →'));
    }
  } catch (err) {
    section.append(errorBox((err as Error).message));
  }
  return section;
}

function field(label: string, input: HTMLElement, error?: HTMLElement): HTMLElement {
  const id = `f-${label.replace(/\W+/g, '-').toLowerCase()}`;
  input.id = id;
  return el('div', { class: 'field' }, el('label', { for: id }, label), input, error ?? null);
}

// ── Call ─────────────────────────────────────────────────────────────────────

export async function callPage(sid: string): Promise<HTMLElement> {
  const section = el('section', { 'aria-labelledby': 'call-h' }, el('h1', { id: 'call-h' }, `Call ${sid}`));
  let call: CallRecord;
  try {
    call = await getJson<CallRecord>(`/api/calls/${encodeURIComponent(sid)}`);
  } catch (err) {
    section.append(errorBox((err as Error).message));
    return section;
  }
  section.append(
    el(
      'dl',
      { class: 'meta' },
      ...meta([
        ['From', call.from],
        ['To', call.to],
        ['Profile', call.profile],
        ['Started', fmtTime(call.startedAt)],
        ['Duration', call.durationMs === null ? '—' : fmtMs(call.durationMs)],
        ['Outcome', call.reason ? `${call.outcome} (${call.reason})` : call.outcome],
        ['Barge-ins', String(call.bargeIns)],
        ['First audio', call.latency.firstAudioMs === null ? '—' : `${call.latency.firstAudioMs} ms`],
      ]),
    ),
  );
  const audio = el('audio', {
    controls: true,
    preload: 'metadata',
    src: `/api/calls/${encodeURIComponent(sid)}/recording.wav`,
    'aria-label': 'Call recording: caller left, assistant right',
  });
  try {
    const timeline = await getJson<Timeline>(`/api/calls/${encodeURIComponent(sid)}/timeline`);
    section.append(el('h2', {}, 'Timeline'), timelineView(timeline, audio), audio);
  } catch (err) {
    section.append(el('h2', {}, 'Timeline'), el('p', { class: 'muted' }, (err as Error).message));
  }
  section.append(
    el('h2', {}, 'Transcript'),
    el(
      'ol',
      { class: 'transcript' },
      ...call.turns.map((t) =>
        el(
          'li',
          { class: `turn ${t.role}${t.truncated ? ' truncated' : ''}` },
          el('span', { class: 'who' }, t.role === 'caller' ? 'Caller' : 'Assistant'),
          el('span', { class: 'text' }, t.text),
          t.truncated
            ? el('span', { class: 'cut', title: 'the caller interrupted here' }, '✂ cut off by the caller')
            : null,
        ),
      ),
    ),
  );
  if (call.tools.length > 0)
    section.append(
      el('h2', {}, 'Tool calls'),
      el(
        'ul',
        { class: 'tools' },
        ...call.tools.map((t) =>
          el(
            'li',
            { class: `tool ${t.ok ? 'ok' : 'failed'}` },
            el('strong', {}, t.name),
            ` ${t.ok ? 'ok' : 'failed'} in ${t.ms} ms `,
            el('code', {}, JSON.stringify(t.arguments)),
          ),
        ),
      ),
    );
  if (call.analysis !== null)
    section.append(
      el('h2', {}, 'Analysis'),
      el('p', {}, call.analysis.summary),
      el('pre', {}, JSON.stringify(call.analysis.data, null, 2)),
    );
  if (call.statusEvents.length > 0)
    section.append(
      el('h2', {}, 'Events'),
      el('ul', {}, ...call.statusEvents.map((e) => el('li', {}, `${fmtTime(e.at)} ${e.kind} ${e.status}`))),
    );
  return section;
}

function meta(pairs: [string, string][]): HTMLElement[] {
  return pairs.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]);
}

// ── Live ─────────────────────────────────────────────────────────────────────

interface LiveCall {
  card: HTMLElement;
  transcript: HTMLElement;
}

export function livePage(onLeave: (close: () => void) => void): HTMLElement {
  const list = el('div', { class: 'live-calls', 'aria-live': 'polite' });
  const empty = el('p', { class: 'muted' }, 'No call is running.');
  const section = el('section', { 'aria-labelledby': 'live-h' }, el('h1', { id: 'live-h' }, 'Live calls'), empty, list);
  const calls = new Map<string, LiveCall>();
  const source = new EventSource('/api/live');
  onLeave(() => source.close());
  const refresh = () => (empty.hidden = calls.size > 0);
  source.addEventListener('call.started', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { callSid: string; from: string; to: string };
    if (calls.has(d.callSid)) return;
    const transcript = el('ol', { class: 'transcript' });
    const status = el('p', { class: 'status', role: 'status' });
    const act = (path: string, body: unknown) =>
      sendJson('POST', `/api/calls/${encodeURIComponent(d.callSid)}/${path}`, body)
        .then(() => (status.textContent = `${path}: sent`))
        .catch((err: Error) => (status.textContent = `${path}: ${err.message}`));
    const to = el('input', { placeholder: '+15550000000', 'aria-label': 'Transfer to' });
    const say = el('input', { placeholder: 'Words for the assistant to say', 'aria-label': 'Say' });
    const hangUp = el('button', { type: 'button', class: 'danger' }, 'Hang up');
    hangUp.addEventListener('click', () => void act('hangup', {}));
    const transfer = el('button', { type: 'button' }, 'Transfer');
    transfer.addEventListener('click', () => void act('transfer', { to: to.value }));
    const sayButton = el('button', { type: 'button' }, 'Say');
    sayButton.addEventListener('click', () => void act('say', { text: say.value }));
    const card = el(
      'article',
      { class: 'live-call', 'data-call': d.callSid, 'aria-label': `Call from ${d.from}` },
      el('h2', {}, `${d.from} → ${d.to}`),
      el('p', { class: 'muted' }, d.callSid),
      transcript,
      el(
        'div',
        { class: 'controls' },
        el('div', { class: 'control-row' }, hangUp),
        el('div', { class: 'control-row' }, to, transfer),
        el('div', { class: 'control-row' }, say, sayButton),
      ),
      status,
    );
    calls.set(d.callSid, { card, transcript });
    list.append(card);
    refresh();
  });
  source.addEventListener('turn', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as {
      callSid: string;
      role: string;
      text: string;
      truncated: boolean;
    };
    calls
      .get(d.callSid)
      ?.transcript.append(
        el(
          'li',
          { class: `turn ${d.role}${d.truncated ? ' truncated' : ''}` },
          el('span', { class: 'who' }, d.role),
          el('span', { class: 'text' }, d.text),
        ),
      );
  });
  source.addEventListener('barge_in', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { callSid: string };
    calls.get(d.callSid)?.transcript.append(el('li', { class: 'barge-note' }, 'caller barged in'));
  });
  source.addEventListener('tool', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { callSid: string; name: string; ok: boolean };
    calls
      .get(d.callSid)
      ?.transcript.append(el('li', { class: 'tool-note' }, `tool ${d.name} ${d.ok ? 'ok' : 'failed'}`));
  });
  source.addEventListener('call.ended', (e) => {
    const d = JSON.parse((e as MessageEvent<string>).data) as { callSid: string; outcome: string };
    const call = calls.get(d.callSid);
    if (call === undefined) return;
    call.card.classList.add('ended');
    call.card.append(el('p', { class: 'ended-note' }, `Ended: ${d.outcome}`));
    calls.delete(d.callSid);
    refresh();
  });
  return section;
}

// ── Numbers ──────────────────────────────────────────────────────────────────

interface NumbersAnswer {
  file: string;
  raw: { numbers?: Record<string, Record<string, unknown>> };
}

export async function numbersPage(): Promise<HTMLElement> {
  const section = el('section', { 'aria-labelledby': 'numbers-h' }, el('h1', { id: 'numbers-h' }, 'Numbers'));
  let answer: NumbersAnswer;
  try {
    answer = await getJson<NumbersAnswer>('/api/numbers');
  } catch (err) {
    section.append(errorBox((err as Error).message));
    return section;
  }
  section.append(el('p', { class: 'muted' }, `Profiles from ${answer.file}`));
  for (const [number, fields] of Object.entries(answer.raw.numbers ?? {}))
    section.append(profileEditor(number, fields));
  return section;
}

function profileEditor(number: string, saved: Record<string, unknown>): HTMLElement {
  const inputs = new Map<
    string,
    { input: HTMLInputElement | HTMLTextAreaElement; error: HTMLElement; json: boolean }
  >();
  const form = el(
    'form',
    { class: 'profile', 'data-number': number, 'aria-label': `Profile ${number}` },
    el('h2', {}, number),
  );
  for (const [key, value] of Object.entries(saved)) {
    const json = typeof value !== 'string';
    const id = `p-${number.replace(/\W/g, '')}-${key}`;
    const input = json ? el('textarea', { id, name: key, rows: 3 }) : el('input', { id, name: key });
    input.value = typeof value === 'string' ? value : JSON.stringify(value);
    const error = el('p', { class: 'field-error', id: `${id}-err`, role: 'alert', hidden: true });
    input.setAttribute('aria-describedby', error.id);
    inputs.set(key, { input, error, json });
    form.append(el('div', { class: 'field' }, el('label', { for: id }, key), input, error));
  }
  const diff = el('pre', { class: 'diff', hidden: true, 'aria-live': 'polite' });
  const formError = el('p', { class: 'error', role: 'alert', hidden: true });
  const review = el('button', { type: 'button' }, 'Review changes');
  const save = el('button', { type: 'submit', disabled: true }, 'Save');
  form.append(el('div', { class: 'actions' }, review, save), diff, formError);

  const collect = (): Record<string, unknown> | null => {
    const out: Record<string, unknown> = {};
    let ok = true;
    for (const [key, { input, error, json }] of inputs) {
      error.hidden = true;
      if (!json) out[key] = input.value;
      else
        try {
          out[key] = JSON.parse(input.value);
        } catch {
          error.textContent = `${key}: not valid JSON`;
          error.hidden = false;
          ok = false;
        }
    }
    return ok ? out : null;
  };
  review.addEventListener('click', () => {
    const next = collect();
    if (next === null) return;
    const lines: string[] = [];
    for (const key of new Set([...Object.keys(saved), ...Object.keys(next)])) {
      const a = JSON.stringify(saved[key]);
      const b = JSON.stringify(next[key]);
      if (a !== b) lines.push(`- ${key}: ${a ?? '(unset)'}`, `+ ${key}: ${b ?? '(unset)'}`);
    }
    diff.textContent = lines.length > 0 ? lines.join('\n') : 'No changes.';
    diff.hidden = false;
    save.disabled = lines.length === 0;
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const next = collect();
    if (next === null) return;
    formError.hidden = true;
    sendJson('PUT', `/api/numbers/${encodeURIComponent(number)}`, next)
      .then(() => {
        Object.assign(saved, next);
        diff.textContent = 'Saved.';
        save.disabled = true;
      })
      .catch((err: Error) => {
        const at = [...inputs.keys()].find((key) => err.message.includes(key));
        const target = at !== undefined ? inputs.get(at)!.error : formError;
        target.textContent = err instanceof ApiError ? err.message : `Not saved: ${err.message}`;
        target.hidden = false;
      });
  });
  return form;
}

// ── Dial ─────────────────────────────────────────────────────────────────────

export function dialPage(): HTMLElement {
  const to = el('input', { name: 'to', required: true, placeholder: '+15551234567' });
  const from = el('input', { name: 'from', required: true, placeholder: '+15551230001' });
  const status = el('p', { role: 'status' });
  const form = el(
    'form',
    { class: 'dial' },
    field('To', to),
    field('From', from),
    el('button', { type: 'submit' }, 'Dial'),
    status,
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    sendJson<{ callSid: string; status: string }>('POST', '/api/calls', { to: to.value, from: from.value })
      .then((r) => (status.textContent = `${r.callSid}: ${r.status}`))
      .catch((err: Error) => (status.textContent = `Not dialled: ${err.message}`));
  });
  return el('section', { 'aria-labelledby': 'dial-h' }, el('h1', { id: 'dial-h' }, 'Dial'), form);
}

// ── Overview ─────────────────────────────────────────────────────────────────

/** Latest calls the overview reads (5 pages of the API's largest size). */
const OVERVIEW_PAGES = 5;

export async function overviewPage(): Promise<HTMLElement> {
  const section = el('section', { 'aria-labelledby': 'overview-h' }, el('h1', { id: 'overview-h' }, 'Overview'));
  const calls: CallRecord[] = [];
  let cursor: string | null = null;
  try {
    for (let i = 0; i < OVERVIEW_PAGES; i++) {
      const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const page: { calls: CallRecord[]; next: string | null } = await getJson(`/api/calls?limit=100${q}`);
      calls.push(...page.calls);
      cursor = page.next;
      if (cursor === null) break;
    }
  } catch (err) {
    section.append(errorBox((err as Error).message));
    return section;
  }
  const hour = 3600_000;
  const now = Date.now();
  const perHour = new Array<number>(24).fill(0);
  for (const c of calls) {
    const ago = Math.floor((now - Date.parse(c.startedAt)) / hour);
    if (ago >= 0 && ago < 24) perHour[23 - ago]! += 1;
  }
  const outcomes = new Map<string, number>();
  for (const c of calls) outcomes.set(c.outcome, (outcomes.get(c.outcome) ?? 0) + 1);
  const latencies = calls.flatMap((c) => c.latency.responseMs).sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies.length === 0 ? 0 : latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
  section.append(
    el('p', { class: 'muted' }, `From the latest ${calls.length} calls.`),
    barChart(
      'Calls per hour (last 24 h)',
      perHour.map((v, i) => [`${i - 23}h`, v]),
    ),
    barChart('Outcomes', [...outcomes]),
    barChart('First-audio latency after a caller turn (ms)', [
      ['p50', pct(50)],
      ['p90', pct(90)],
      ['p99', pct(99)],
    ]),
  );
  return section;
}

/** A small bar chart drawn as SVG (no chart library: three charts, ~40 lines, nothing to ship). */
function barChart(caption: string, data: [string, number][]): HTMLElement {
  const w = 600;
  const h = 140;
  const top = 18;
  const max = Math.max(1, ...data.map(([, v]) => v));
  const slot = w / Math.max(1, data.length);
  const bw = Math.min(64, slot - 4);
  const chart = svg('svg', { viewBox: `0 0 ${w} ${top + h + 20}`, class: 'chart', role: 'img', 'aria-label': caption });
  chart.append(svg('line', { x1: 0, x2: w, y1: top + h, y2: top + h, class: 'axis' }));
  data.forEach(([label, v], i) => {
    const bh = (v / max) * h;
    const cx = i * slot + slot / 2;
    chart.append(svg('rect', { x: cx - bw / 2, y: top + h - bh, width: Math.max(1, bw), height: bh, class: 'bar' }));
    const t = svg('text', { x: cx, y: top + h + 14, class: 'bar-label' });
    t.textContent = data.length > 12 && i % 3 !== 0 ? '' : label;
    const n = svg('text', { x: cx, y: top + h - bh - 4, class: 'bar-value' });
    n.textContent = v === 0 ? '' : String(Math.round(v));
    chart.append(t, n);
  });
  return el('figure', { class: 'chart-figure' }, el('figcaption', {}, caption), chart as unknown as Node);
}
