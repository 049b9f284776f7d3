/**
 * The load generator: a child process of `npm run bench -- load` (pinned to its own core
 * with taskset), hosting both ends the bridge talks to — the lean phones and the fake
 * realtime model — so that every send and receive time is `performance.now()` on one clock.
 * Driven by the parent over Node IPC (bench/load/ipc.ts).
 *
 * Calls are dialled one after another at the requested rate; the next phone dials only once
 * the bridge has opened the model socket of the previous one, which is how a model
 * connection is tied to its phone (the bridge sends nothing call-specific to the model).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

import { FakeRealtimeModel } from './fake-model.js';
import type { FromGenerator, GeneratorConfig, StopStats, ToGenerator, WindowStats } from './ipc.js';
import { LeanPhone, PhoneFleet } from './lean-phone.js';
import { buildMaterial, type Material } from './material.js';
import { CallProbe, Measurements } from './probe.js';

/** How often the model side looks for answers to start and deltas to send. */
const MODEL_TICK_MS = 5;
/** How long a dialled call may take to reach the model before it counts as failed. */
const MODEL_CONNECT_TIMEOUT_MS = 10_000;

function send(msg: FromGenerator): void {
  process.send?.(msg);
}

class Generator {
  private readonly fleet = new PhoneFleet();
  private readonly measurements: Measurements;
  private readonly material: Material;
  private model!: FakeRealtimeModel;
  private ticker: NodeJS.Timeout | null = null;
  private pending: { probe: CallProbe; resolve: () => void } | null = null;
  private windowCpu: NodeJS.CpuUsage | null = null;
  private windowStartedAt = 0;
  private readonly loopDelay = monitorEventLoopDelay({ resolution: 10 });

  constructor(private readonly config: GeneratorConfig) {
    this.measurements = new Measurements(config.lateMs);
    this.material = buildMaterial(config.answerMs);
  }

  async start(): Promise<number> {
    this.model = await FakeRealtimeModel.listen(
      {
        answers: this.material.answers,
        answerEveryMs: this.config.answerEveryMs,
        speed: this.config.speed,
        claimProbe: () => {
          const pending = this.pending;
          if (pending === null) return null;
          this.pending = null;
          pending.resolve();
          return pending.probe;
        },
      },
      this.config.mode,
    );
    let modelTickAt = 0;
    this.ticker = setInterval(() => {
      const now = performance.now();
      this.fleet.tick(now);
      // Answers are paced in deltas of 10-100 ms: the model side needs no 1 ms resolution.
      if (now - modelTickAt >= MODEL_TICK_MS) {
        modelTickAt = now;
        this.model.tick(now);
      }
    }, this.config.tickMs);
    return this.model.port;
  }

  async dial(
    bridgeUrl: string,
    to: string,
    calls: number,
    perSecond: number,
  ): Promise<{ dialed: number; failed: number; errors: string[] }> {
    const t0 = performance.now();
    let dialed = 0;
    let failed = 0;
    const errors: string[] = [];
    for (let i = 0; i < calls; i++) {
      const due = t0 + (i * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const probe = new CallProbe(this.fleet.phones.length, this.measurements);
      const phone = new LeanPhone(probe, this.material.callerFramesB64);
      let timer: NodeJS.Timeout | undefined;
      const reachedModel = new Promise<void>((resolve, reject) => {
        this.pending = { probe, resolve };
        timer = setTimeout(
          () => reject(new Error('the bridge did not open a model session')),
          MODEL_CONNECT_TIMEOUT_MS,
        );
      });
      try {
        await phone.dial(bridgeUrl, to);
        this.fleet.add(phone);
        await reachedModel;
        dialed++;
      } catch (err) {
        failed++;
        if (errors.length < 5) errors.push(err instanceof Error ? err.message : String(err));
        phone.terminate();
      } finally {
        clearTimeout(timer);
        this.pending = null;
        reachedModel.catch(() => undefined);
      }
      send({ type: 'progress', dialed, failed });
    }
    return { dialed, failed, errors };
  }

  windowStart(): void {
    this.measurements.startWindow(performance.now());
    this.windowCpu = process.cpuUsage();
    this.windowStartedAt = performance.now();
    this.loopDelay.reset();
    this.loopDelay.enable();
  }

  windowEnd(): WindowStats {
    this.measurements.endWindow();
    const cpu = process.cpuUsage(this.windowCpu ?? undefined);
    this.loopDelay.disable();
    return {
      windowS: (performance.now() - this.windowStartedAt) / 1000,
      up: this.measurements.up.summary(),
      upNewest: this.measurements.upNewest.summary(),
      down: this.measurements.down.summary(),
      generatorCpuS: (cpu.user + cpu.system) / 1e6,
      generatorLoopP99Ms: this.loopDelay.percentile(99) / 1e6,
      generatorLoopMaxMs: this.loopDelay.max / 1e6,
      activeCalls: this.fleet.phones.filter((p) => p.isOpen).length,
    };
  }

  /**
   * Counts what was lost: what each call had sent (both ways) is noted, the calls go on
   * streaming for `settleMs`, and whatever was sent before the note and has still not arrived
   * is lost. Then every phone hangs up and the model sockets are expected to close.
   */
  async stop(settleMs: number): Promise<StopStats> {
    const probes = this.fleet.phones.map((p) => p.probe);
    const snapshots = probes.map((p) => p.snapshot());
    await sleep(settleMs);
    const losses = probes.map((p, i) => p.lostSince(snapshots[i]!));
    const sum = (f: (p: CallProbe) => number) => probes.reduce((acc, p) => acc + f(p), 0);
    const phoneSum = (f: (p: LeanPhone) => number) => this.fleet.phones.reduce((acc, p) => acc + f(p), 0);
    const counters = this.model.counters;
    const stats: StopStats = {
      callerFramesSent: sum((p) => p.framesSent),
      callerFramesToModel: sum((p) => p.modelFrames),
      lostUp: losses.reduce((acc, l) => acc + l.up, 0),
      excessUp: sum((p) => p.excessModelFrames),
      assistantFramesHeard: sum((p) => p.framesHeard),
      lostDown: losses.reduce((acc, l) => acc + l.down, 0),
      unexpectedDown: sum((p) => p.unexpectedFrames),
      marksEchoed: phoneSum((p) => p.counters.marksEchoed),
      clears: phoneSum((p) => p.counters.clears),
      playedFrames: phoneSum((p) => p.counters.playedFrames),
      responses: counters.responses,
      phoneProtocolErrors: phoneSum((p) => p.counters.protocolErrors),
      modelBadClientEvents: counters.badClientEvents,
      modelWrongFormat: counters.wrongFormat,
      unexpectedModelConnections: counters.unexpectedConnections,
      modelClosedEarly: counters.closedEarly,
      callsDroppedByBridge: phoneSum((p) => (p.droppedByBridge ? 1 : 0)),
      modelSocketsLeftOpen: 0,
    };
    this.model.stopping = true;
    this.model.hangingUp = true;
    await Promise.race([Promise.all(this.fleet.phones.map((p) => p.hangUp())), sleep(5_000)]);
    for (let waited = 0; this.model.openConnections > 0 && waited < 3_000; waited += 50) await sleep(50);
    stats.modelSocketsLeftOpen = this.model.openConnections;
    return stats;
  }

  async close(): Promise<void> {
    if (this.ticker !== null) clearInterval(this.ticker);
    for (const phone of this.fleet.phones) phone.terminate();
    await this.model.close();
  }
}

let generator: Generator | null = null;

async function handle(msg: ToGenerator): Promise<void> {
  switch (msg.type) {
    case 'init':
      generator = new Generator(msg.config);
      send({ type: 'ready', modelPort: await generator.start() });
      return;
    case 'dial':
      send({ type: 'dialed', ...(await generator!.dial(msg.bridgeUrl, msg.to, msg.calls, msg.perSecond)) });
      return;
    case 'window-start':
      generator!.windowStart();
      send({ type: 'window-started' });
      return;
    case 'window-end':
      send({ type: 'window', stats: generator!.windowEnd() });
      return;
    case 'stop':
      send({ type: 'stopped', stats: await generator!.stop(msg.settleMs) });
      return;
    case 'exit':
      await generator?.close();
      process.disconnect?.();
      process.exit(0);
  }
}

process.on('message', (msg: ToGenerator) => {
  handle(msg).catch((err: unknown) => {
    send({ type: 'fatal', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  });
});
process.on('disconnect', () => process.exit(0));
