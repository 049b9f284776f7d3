/**
 * A server that sends garbage in a loop must not flood the log (found by the fuzz suite:
 * every dropped server message was a warn line — thousands per fuzz run — while the Twilio
 * link samples; and every new unknown type went into an ever-growing set).
 */
import { describe, expect, it } from 'vitest';

import { RealtimeEmulator } from '../../src/emulator/realtime-emulator.js';
import { RealtimeLink } from '../../src/links/realtime-link.js';
import type { ModelEvent, ModelLinkEvent } from '../../src/protocol/realtime.js';
import { VirtualClock } from '../../src/util/clock.js';
import { createLogger } from '../../src/util/logger.js';
import { EventQueue } from '../contract/event-queue.js';

describe('RealtimeLink under a flood of bad server messages', () => {
  it(
    'logs the first dropped messages, then one in a thousand with the count; ' + 'unknown types once each, at most 64',
    async () => {
      const server = await RealtimeEmulator.listen({ port: 0, host: '127.0.0.1' });
      const lines: { msg: string; count?: number; wireType?: string }[] = [];
      const logger = createLogger({
        level: 'debug',
        destination: { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
      });
      const events = new EventQueue<ModelEvent | ModelLinkEvent>();
      const link = new RealtimeLink({
        endpoint: { kind: 'custom', url: server.url, headers: {}, dialect: 'ga', label: 'test' },
        clock: new VirtualClock(),
        logger,
        onEvent: events.push,
      });
      try {
        link.connect();
        await events.next('model.sessionCreated');
        const session = await server.emulator.nextSession();
        for (let i = 0; i < 2_500; i++)
          session.sendRaw(i % 2 === 0 ? `not json ${i}` : { type: 'response.output_audio.delta', delta: 'AAAA' });
        for (let i = 0; i < 200; i++) session.sendRaw({ type: `made.up.type.${i}` });
        session.sendError('sync_point', 'everything before this was handled');
        await events.next('model.error', (e) => e.code === 'sync_point');
        const dropped = lines.filter((l) => l.msg === 'realtime message dropped');
        expect(dropped.map((l) => l.count)).toEqual([1, 2, 3, 4, 5, 1_000, 2_000]);
        expect(lines.filter((l) => l.msg === 'realtime event not used by the bridge')).toHaveLength(64);
        expect(events.all('model.other')).toHaveLength(200); // still delivered, only not logged
        expect(link.state).toBe('open');
      } finally {
        link.close();
        await server.close();
      }
    },
  );
});
