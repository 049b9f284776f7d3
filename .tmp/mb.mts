import { createCallerToModel, createModelToCaller } from '../src/audio/transcoder.js';
const c2m = createCallerToModel('pcm16'); const m2c = createModelToCaller('pcm16');
const mu = Buffer.alloc(320); for (let i = 0; i < 320; i++) mu[i] = (i * 37) & 0xff;
const pcm = Buffer.alloc(24000 * 2 * 0.2 + 1); for (let i = 0; i < pcm.length; i++) pcm[i] = (i * 91) & 0xff;
function run(label: string, f: () => void, reps: number) {
  for (let w = 0; w < 3; w++) { const t = process.hrtime.bigint(); for (let r = 0; r < reps; r++) f(); const ms = Number(process.hrtime.bigint() - t) / 1e6; if (w === 2) console.log(label, (ms / reps).toFixed(3), 'ms per audio-second'); }
}
run('caller->model (25 pushes of 40 ms)', () => { for (let k = 0; k < 25; k++) c2m.push(mu); }, 2000);
run('caller->model + base64', () => { for (let k = 0; k < 25; k++) c2m.push(mu).toString('base64'); }, 2000);
run('model->caller (5 pushes of 200 ms)', () => { for (let k = 0; k < 5; k++) m2c.push(pcm); }, 2000);
run('model->caller + b64 in/out', () => { const s = pcm.toString('base64'); for (let k = 0; k < 5; k++) for (const f of m2c.push(Buffer.from(s, 'base64'))) f.toString('base64'); }, 2000);
