/**
 * The timeline picture of one call (SPEC §12): two lanes on the call clock — the caller above,
 * the assistant as heard below — each with its waveform and speech segments; barge-ins as red
 * rules across both lanes, tool calls as diamonds, each answer's first-audio latency as a
 * label. The audio player's playhead moves along it; a click (or arrow keys) seeks.
 */
import type { Timeline } from './api.js';
import { el, fmtMs, svg, title } from './dom.js';

const WIDTH = 1000;
const LANE_H = 56;
const CALLER_Y = 22;
const ASSISTANT_Y = CALLER_Y + LANE_H + 26;
const HEIGHT = ASSISTANT_Y + LANE_H + 24;

export function timelineView(t: Timeline, audio: HTMLAudioElement): HTMLElement {
  const duration = Math.max(t.durationMs, 1);
  const x = (ms: number) => (ms / duration) * WIDTH;
  const root = svg('svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: 'timeline',
    role: 'slider',
    tabindex: 0,
    'aria-label': 'Call timeline: click or use the arrow keys to seek',
    'aria-valuemin': 0,
    'aria-valuemax': Math.round(duration / 1000),
    'aria-valuenow': 0,
    preserveAspectRatio: 'none',
  });
  const lane = (y: number, name: string, cls: string, wave: number[], segments: Timeline['caller']) => {
    const g = svg('g', { class: `lane ${cls}`, 'data-lane': cls });
    g.append(svg('rect', { x: 0, y, width: WIDTH, height: LANE_H, class: 'lane-bg' }));
    const label = svg('text', { x: 4, y: y - 6, class: 'lane-label' });
    label.textContent = name;
    g.append(label);
    for (const s of segments)
      g.append(
        svg(
          'rect',
          { x: x(s.startMs), y, width: Math.max(1, x(s.endMs) - x(s.startMs)), height: LANE_H, class: 'segment' },
          title(`${name} ${fmtMs(s.startMs)}–${fmtMs(s.endMs)}`),
        ),
      );
    const mid = y + LANE_H / 2;
    let d = '';
    wave.forEach((v, i) => {
      if (v <= 0.005) return;
      const px = x(i * t.waveform.bucketMs);
      const h = Math.max(0.5, v * (LANE_H / 2 - 2));
      d += `M${px.toFixed(1)} ${(mid - h).toFixed(1)}V${(mid + h).toFixed(1)}`;
    });
    g.append(svg('path', { d, class: 'wave' }));
    return g;
  };
  root.append(
    lane(CALLER_Y, 'Caller', 'caller', t.waveform.caller, t.caller),
    lane(ASSISTANT_Y, 'Assistant (as heard)', 'assistant', t.waveform.assistant, t.assistant),
  );
  for (const b of t.bargeIns)
    root.append(
      svg(
        'line',
        { x1: x(b.atMs), x2: x(b.atMs), y1: CALLER_Y - 4, y2: ASSISTANT_Y + LANE_H + 4, class: 'barge-in' },
        title(`Barge-in at ${fmtMs(b.atMs)}: the assistant was cut`),
      ),
    );
  for (const tool of t.tools) {
    const cx = x(tool.atMs);
    const cy = ASSISTANT_Y - 13;
    root.append(
      svg(
        'path',
        { d: `M${cx} ${cy - 7}L${cx + 7} ${cy}L${cx} ${cy + 7}L${cx - 7} ${cy}Z`, class: 'tool-marker' },
        title(`Tool ${tool.name} at ${fmtMs(tool.atMs)} ${tool.arguments}`),
      ),
    );
  }
  for (const l of t.latencies) {
    const label = svg('text', {
      x: Math.min(x(l.atMs) + 2, WIDTH - 48),
      y: ASSISTANT_Y + LANE_H + 16,
      class: 'latency',
    });
    label.textContent = `${Math.round(l.latencyMs)} ms`;
    root.append(
      svg(
        'g',
        { class: 'latency-mark' },
        title(
          `first audio ${Math.round(l.latencyMs)} ms after ${l.afterCallerTurn ? 'the caller stopped' : 'the start'}`,
        ),
        label,
      ),
    );
  }
  const playhead = svg('line', { x1: 0, x2: 0, y1: 0, y2: HEIGHT, class: 'playhead' });
  root.append(playhead);

  const show = () => {
    const ms = audio.currentTime * 1000;
    playhead.setAttribute('x1', String(x(ms)));
    playhead.setAttribute('x2', String(x(ms)));
    root.setAttribute('aria-valuenow', String(Math.round(audio.currentTime)));
  };
  let frame = 0;
  const tick = () => {
    show();
    if (!audio.paused) frame = requestAnimationFrame(tick);
  };
  audio.addEventListener('play', () => (frame = requestAnimationFrame(tick)));
  audio.addEventListener('pause', () => cancelAnimationFrame(frame));
  audio.addEventListener('timeupdate', show);
  audio.addEventListener('seeked', show);
  root.addEventListener('click', (e) => {
    const box = root.getBoundingClientRect();
    audio.currentTime = ((e.clientX - box.left) / box.width) * (duration / 1000);
    show();
  });
  root.addEventListener('keydown', (e) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    e.preventDefault();
    audio.currentTime = Math.min(duration / 1000, Math.max(0, audio.currentTime + step));
    show();
  });
  const legend = el(
    'p',
    { class: 'legend' },
    `${t.caller.length} caller turns · ${t.assistant.length} assistant segments · ${t.bargeIns.length} barge-ins · ` +
      `${t.tools.length} tool calls · ${fmtMs(duration)}`,
  );
  return el('figure', { class: 'timeline-figure' }, root as unknown as Node, legend);
}
