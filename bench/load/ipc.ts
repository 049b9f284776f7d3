/** Messages between the load bench (parent) and its generator process (child), over Node IPC. */
import type { ModelAudioFormat } from '../../src/protocol/realtime.js';
import type { LatencySummary } from './stats.js';

export interface GeneratorConfig {
  mode: ModelAudioFormat;
  /** an answer per call this often, ms */
  answerEveryMs: number;
  /** length of each answer, ms */
  answerMs: number;
  /** answer streaming speed relative to real time */
  speed: number;
  /** a frame slower than this is late, ms */
  lateMs: number;
  /** shared tick of phones and model, ms */
  tickMs: number;
}

export type ToGenerator =
  | { type: 'init'; config: GeneratorConfig }
  | { type: 'dial'; bridgeUrl: string; to: string; calls: number; perSecond: number }
  | { type: 'window-start' }
  | { type: 'window-end' }
  | { type: 'stop'; settleMs: number }
  | { type: 'exit' };

export interface WindowStats {
  windowS: number;
  /** caller → model, every frame */
  up: LatencySummary;
  /** caller → model, the newest frame of each append (without the wait for a batch) */
  upNewest: LatencySummary;
  /** model → caller */
  down: LatencySummary;
  /** generator CPU seconds (user + system) in the window */
  generatorCpuS: number;
  /** generator event-loop delay p99 in the window, ms */
  generatorLoopP99Ms: number;
  generatorLoopMaxMs: number;
  activeCalls: number;
}

export interface StopStats {
  callerFramesSent: number;
  callerFramesToModel: number;
  /** caller frames sent that never reached the model */
  lostUp: number;
  /** caller frames the model got beyond what was sent */
  excessUp: number;
  assistantFramesHeard: number;
  /** assistant frames sent by the model that never reached the phone */
  lostDown: number;
  /** assistant frames the phone got that no delta accounts for */
  unexpectedDown: number;
  marksEchoed: number;
  clears: number;
  playedFrames: number;
  responses: number;
  phoneProtocolErrors: number;
  modelBadClientEvents: number;
  modelWrongFormat: number;
  unexpectedModelConnections: number;
  /** model sockets closed before the bench hung up */
  modelClosedEarly: number;
  /** media sockets the bridge closed before the bench hung up */
  callsDroppedByBridge: number;
  /** model sockets still open 3 s after every phone hung up */
  modelSocketsLeftOpen: number;
}

export type FromGenerator =
  | { type: 'ready'; modelPort: number }
  | { type: 'progress'; dialed: number; failed: number }
  | { type: 'dialed'; dialed: number; failed: number; errors: string[] }
  | { type: 'window-started' }
  | { type: 'window'; stats: WindowStats }
  | { type: 'stopped'; stats: StopStats }
  | { type: 'fatal'; message: string };
