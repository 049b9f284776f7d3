/**
 * The realtime endpoint contract against the local emulator, in both dialects, on
 * 127.0.0.1:0. The emulator streams at 10× real time here so a greeting takes ≈ 0.5 s.
 */
import { realtimeEndpointContract } from './realtime-endpoint.js';

import { RealtimeEmulator } from '../../src/emulator/realtime-emulator.js';

realtimeEndpointContract('emulator', ['ga', 'beta'], async (dialect) => {
  const server = await RealtimeEmulator.listen({ port: 0, host: '127.0.0.1', pacing: { speed: 10 } });
  return {
    endpoint: {
      kind: 'emulator',
      url: server.url,
      headers: dialect === 'beta' ? { 'OpenAI-Beta': 'realtime=v1' } : {},
      dialect,
      label: `emulator (${dialect})`,
    },
    scriptNextResponse: (plan) => server.emulator.queueResponse(plan),
    close: () => server.close(),
  };
});
