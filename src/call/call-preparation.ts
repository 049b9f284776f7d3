/**
 * What a call needs before it can start (SPEC §9, §10): the per-call context's answer and the
 * tools of the profile's `via: bridge` MCP servers. Both were asked for at the webhook, so
 * they are usually in by the time Twilio opens the stream; the start waits for each at most
 * its bound (`context_timeout_ms`; {@link MCP_START_WAIT_MS} for a listing) and goes on
 * without what is late.
 */
import type { Profile } from '../config/numbers.js';
import type { Clock } from '../util/clock.js';
import { applyContext, type ContextOutcome, type ContextRequests } from './call-context.js';
import type { McpCatalog } from './tools/mcp-tools.js';
import type { McpListing } from './tools/registry.js';
import type { CallInfo } from './tools/tool.js';

/** The longest a call start waits for its MCP servers' tool listings. */
export const MCP_START_WAIT_MS = 1_500;

export interface PreparedCall {
  /** the profile as this call uses it: context applied, placeholders filled */
  profile: Profile;
  info: CallInfo;
  /** null without `context_url` */
  context: ContextOutcome | null;
  mcp: McpListing | undefined;
}

export interface PreparationDeps {
  clock: Clock;
  contexts: ContextRequests;
  catalog: McpCatalog;
}

function bridgeServers(profile: Profile): NonNullable<Profile['mcpServers']> {
  return (profile.mcpServers ?? []).filter((s) => s.via === 'bridge');
}

/** At the webhook: ask the context service, and list the MCP servers' tools (or find the listing fresh). */
export function beginPreparation(deps: PreparationDeps, profile: Profile, call: Omit<CallInfo, 'variables'>): void {
  if (profile.contextUrl) deps.contexts.begin(profile.contextUrl, call);
  const servers = bridgeServers(profile);
  if (servers.length > 0) void deps.catalog.list(servers);
}

/** True when the call must wait for something before it starts. */
export function needsPreparation(profile: Profile): boolean {
  return Boolean(profile.contextUrl) || bridgeServers(profile).length > 0;
}

/** At `start`: everything the call waits for, each within its bound. */
export async function prepareCall(deps: PreparationDeps, profile: Profile, info: CallInfo): Promise<PreparedCall> {
  const servers = bridgeServers(profile);
  // a stream whose webhook reached another instance (or none) asks now
  if (profile.contextUrl) deps.contexts.begin(profile.contextUrl, info);
  const [got, listed] = await Promise.all([
    profile.contextUrl ? deps.contexts.await(info.callSid, profile.contextTimeoutMs ?? 1_500) : Promise.resolve(null),
    servers.length > 0 ? within(deps.clock, MCP_START_WAIT_MS, deps.catalog.list(servers)) : Promise.resolve(null),
  ]);
  const variables = { ...(got?.answer?.variables ?? {}), ...info.variables };
  const context = profile.contextUrl ? (got?.outcome ?? { ok: false, ms: 0, error: 'no context request' }) : null;
  return {
    profile: applyContext(profile, got?.answer ?? null, variables),
    info: { ...info, variables },
    context,
    mcp: listed === null ? undefined : { listed, catalog: deps.catalog },
  };
}

/** The value of `p`, or null when it takes longer than `ms`. */
async function within<T>(clock: Clock, ms: number, p: Promise<T>): Promise<T | null> {
  let timer: ReturnType<Clock['setTimer']> | null = null;
  const late = new Promise<null>((resolve) => (timer = clock.setTimer(ms, () => resolve(null))));
  const value = await Promise.race([p, late]);
  if (timer !== null) clock.clearTimer(timer);
  return value;
}
