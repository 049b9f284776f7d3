import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

import { PROJECT_ROOT } from '../support/child.js';

function composeAvailable(): boolean {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const composeFile = path.join(PROJECT_ROOT, 'docker-compose.yml');

/** The parts of docker-compose.yml the bridge relies on, as far as the YAML has them (the test checks them). */
interface ComposeService {
  build?: unknown;
  env_file?: unknown;
  volumes?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  ports?: string[];
}
interface ComposeFile {
  services?: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

describe('docker-compose.yml', () => {
  it.runIf(composeAvailable())('validates with `docker compose config`', () => {
    execFileSync('docker', ['compose', '-f', composeFile, 'config', '--quiet'], { cwd: PROJECT_ROOT, stdio: 'pipe' });
  });

  // No compose plugin on the CI machine: check the structure the bridge relies on instead.
  it('declares the bridge service with a build, the data volume, .env and a healthcheck', () => {
    const doc = parse(readFileSync(composeFile, 'utf8')) as ComposeFile;
    const bridge = doc.services?.['bridge'];
    expect(bridge).toBeDefined();
    expect(bridge?.build).toBe('.');
    expect(bridge?.env_file).toEqual([{ path: '.env', required: false }]);
    expect(bridge?.volumes).toContain('bridge-data:/data');
    expect(bridge?.volumes).toContain('./config:/config');
    expect(bridge?.environment?.['NUMBERS_FILE']).toBe('/config/numbers.yaml');
    expect(bridge?.environment?.['DATA_DIR']).toBe('/data');
    expect(bridge?.healthcheck?.test.join(' ')).toContain('/healthz');
    expect(bridge?.ports).toContain('3000:3000');
    expect(Object.keys(doc.volumes ?? {})).toContain('bridge-data');
    const dockerfile = readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toContain('HEALTHCHECK');
  });
});

describe('docker-compose.yml scale profile (SPEC §14)', () => {
  it('runs PostgreSQL, N bridge replicas on it and a proxy that passes WebSocket upgrades', () => {
    const doc = parse(readFileSync(composeFile, 'utf8')) as {
      services: Record<
        string,
        ComposeService & { profiles?: string[]; deploy?: { replicas?: unknown }; depends_on?: unknown; image?: string }
      >;
      volumes?: Record<string, unknown>;
    };
    const { postgres, proxy } = doc.services;
    const replica = doc.services['bridge-replica'];
    for (const s of [postgres, replica, proxy]) expect(s?.profiles).toEqual(['scale']);
    expect(postgres?.image).toMatch(/^postgres:/);
    expect(postgres?.healthcheck?.test).toContain('pg_isready');
    expect(replica?.environment?.['DATABASE_URL']).toMatch(/^postgres:\/\/bridge:.*@postgres:5432\/bridge$/);
    expect(replica?.environment?.['TRUST_PROXY']).toBe('1');
    expect(String(replica?.deploy?.replicas)).toMatch(/^\$\{BRIDGE_REPLICAS:-\d+\}$/);
    expect(replica?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    expect(proxy?.volumes).toContain('./deploy/Caddyfile:/etc/caddy/Caddyfile:ro');
    expect(Object.keys(doc.volumes ?? {})).toContain('pg-data');

    // the Caddyfile: one site block whose reverse_proxy reaches every replica and checks readiness
    const caddy = readFileSync(path.join(PROJECT_ROOT, 'deploy/Caddyfile'), 'utf8').replace(/#.*$/gm, '');
    expect(caddy.split('{').length).toBe(caddy.split('}').length);
    expect(caddy).toMatch(/^:80 \{/m);
    expect(caddy).toMatch(/reverse_proxy \{[\s\S]*dynamic a bridge-replica 3000/);
    expect(caddy).toMatch(/health_uri \/readyz/);
    // Caddy drops nothing WebSocket needs unless told to: no header_up removing Upgrade/Connection
    expect(caddy).not.toMatch(/header_up\s+-(Upgrade|Connection)/i);
  });
});
