/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and lists where the time went:
 * self time per function (name, file, line), busiest first. For the load bench's
 * `--cpu-prof` option; `(idle)` and `(program)` are reported apart from the rest.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface HotFunction {
  name: string;
  where: string;
  selfMs: number;
  /** share of the busy (non-idle) time */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  busyMs: number;
  top: HotFunction[];
}

/** Self time per function of a `.cpuprofile`, top `limit` by self time. */
export function summarizeCpuProfile(file: string, limit = 25, root = process.cwd()): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const selfUs = new Map<string, { name: string; where: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!);
    const dt = profile.timeDeltas[i] ?? 0;
    if (node === undefined || dt < 0) continue;
    totalUs += dt;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += dt;
      continue;
    }
    const file = url === '' ? '' : url.startsWith('file://') ? path.relative(root, new URL(url).pathname) : url;
    const where = file === '' ? '' : `${file}:${lineNumber + 1}`;
    const key = `${functionName}\u0000${where}`;
    const entry = selfUs.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
    entry.us += dt;
    selfUs.set(key, entry);
  }
  const busyUs = totalUs - idleUs;
  const top = [...selfUs.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, limit)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, share: busyUs > 0 ? e.us / busyUs : 0 }));
  return { totalMs: totalUs / 1000, idleMs: idleUs / 1000, busyMs: busyUs / 1000, top };
}

/** The summary as a markdown table. */
export function renderProfileSummary(summary: ProfileSummary): string {
  const lines = [
    `busy ${(summary.busyMs / 1000).toFixed(2)} s of ${(summary.totalMs / 1000).toFixed(2)} s profiled`,
    '',
    '| self ms | share of busy | function | where |',
    '|---|---|---|---|',
  ];
  for (const f of summary.top)
    lines.push(`| ${f.selfMs.toFixed(0)} | ${(f.share * 100).toFixed(1)} % | ${f.name} | ${f.where} |`);
  return `${lines.join('\n')}\n`;
}
