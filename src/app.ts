/**
 * The composition root: builds every concrete piece from the configuration and wires them
 * together. It contains no decisions of its own (STYLE §2.4: the only file that constructs
 * concrete classes).
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import express from 'express';

import { parseWav } from './audio/wav.js';
import { CallAnalysis, type AnalysisOutcome } from './call/call-analysis.js';
import { buildCall } from './call/call-factory.js';
import type { CallRunner } from './call/call-runner.js';
import type { CallSession } from './call/call-session.js';
import { DEFAULT_TUNING, type SessionTuning } from './call/session-tuning.js';
import { applyContext, ContextRequests } from './call/call-context.js';
import {
  beginPreparation,
  needsPreparation,
  prepareCall,
  type PreparationDeps,
  type PreparedCall,
} from './call/call-preparation.js';
import { McpCatalog } from './call/tools/mcp-tools.js';
import { ConfigError, describeError } from './util/errors.js';
import type { Responder } from './emulator/responder.js';
import { parseEmulatorScript, scriptResponder } from './emulator/script.js';
import { callTools, toolDeclarations, type McpListing } from './call/tools/registry.js';
import { sessionConfigFor } from './call/model-session.js';
import { WarmStarts } from './call/warm-start.js';
import { WarmLink } from './links/warm-link.js';
import type { CallInfo, ToolTable } from './call/tools/tool.js';
import { recordedTools } from './call/tools/tool-records.js';
import { configSecrets, type Config } from './config/env.js';
import { checkMcpServersForDialect, DEFAULTS_KEY, NumbersRegistry, type Profile } from './config/numbers.js';
import { checkProfilesForDialect } from './config/session-settings.js';
import { RealtimeEmulator } from './emulator/realtime-emulator.js';
import { adminRoutes } from './http/admin-routes.js';
import { callDataRoutes } from './http/call-data-routes.js';
import { ConsoleSessions } from './http/console-auth.js';
import { consoleRoutes } from './http/console-routes.js';
import { CallAdmission } from './http/call-admission.js';
import { healthRoutes } from './http/health-routes.js';
import { jsonErrorHandler, jsonNotFound } from './http/json-errors.js';
import { mediaUpgradeHandler, type AcceptedStream } from './http/media-upgrade.js';
import { BridgeMetrics } from './http/metrics.js';
import {
  createHttpServer,
  DEFAULT_HTTP_LIMITS,
  refuseUpgrade,
  type HttpLimits,
  type UpgradeHandler,
} from './http/server.js';
import { outboundRoutes } from './http/outbound-routes.js';
import { MEDIA_PATH, twilioRoutes } from './http/twilio-routes.js';
import { OutboundCalls, type OutboundCall } from './outbound/outbound-calls.js';
import { EMULATOR_PATH, endpointForModel, resolveRealtimeEndpoint, type RealtimeEndpoint } from './links/providers.js';
import { RealtimeLink } from './links/realtime-link.js';
import { TWILIO_PING_INTERVAL_MS, TwilioLink } from './links/twilio-link.js';
import { createTwilioRest, type TwilioRest } from './links/twilio-rest.js';
import { CallRecorder, recordedProfile } from './recording/recorder.js';
import { tappedTools } from './recording/tool-tap.js';
import { RecordingsRetention } from './recording/retention.js';
import { ISSUED_CALL_TTL_MS, MemoryIssuedCallLedger, type IssuedCallLedger } from './security/issued-calls.js';
import { isLocalRequest } from './security/local-request.js';
import { Redactor } from './security/redact.js';
import { STREAM_TOKEN_TTL_MS, StreamTokens } from './security/stream-token.js';
import { CallEvents, webhooksFor } from './events/call-events.js';
import { EventDelivery, type DeliveryLimits } from './events/event-delivery.js';
import { LocalCallControl } from './live/call-control.js';
import { ClusterCallControl } from './live/cluster-call-control.js';
import { shareLiveFeed } from './live/cluster-live-feed.js';
import { liveCallFeed, LiveHub } from './live/live-hub.js';
import { CallJournal } from './store/call-journal.js';
import type { CallStore } from './store/call-store.js';
import { CallsRepo, type CallStart } from './store/calls-repo.js';
import type { PgCluster, PgTokenUses } from './store/pg-cluster.js';
import type { PgDatabase } from './store/pg-database.js';
import type { PgNotify } from './store/pg-notify.js';
import { SqliteCallStore } from './store/sqlite-call-store.js';
import { SystemClock, monotonicMs, type Clock } from './util/clock.js';
import type { Logger } from './util/logger.js';
import { APOLOGY_CLIP_FILE, PACKAGE_JSON_FILE } from './util/project-files.js';

const BRIDGE_VERSION = (JSON.parse(readFileSync(PACKAGE_JSON_FILE, 'utf8')) as { version: string }).version;

export interface BridgeOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  /** watch the numbers file for edits (default true) */
  watchNumbers?: boolean;
  /** overrides the Twilio REST client (tests) */
  control?: TwilioRest | null;
  /** overrides the emulator mounted when no model credentials are configured (tests script it) */
  emulator?: RealtimeEmulator;
  /** session tuning for every call (a test seam) */
  tuning?: Partial<SessionTuning>;
  /** HTTP timeouts (a test seam: SPEC §8's 30 s make a slow-body test slow) */
  httpLimits?: Partial<Omit<HttpLimits, 'maxConnections'>>;
  /** how often Twilio sockets are pinged (a test seam; 10 s in production) */
  twilioPingIntervalMs?: number;
  /** recording pauses below this many free bytes on the recordings disk (a test seam; 1 GiB) */
  recordingsMinFreeBytes?: number;
  /** event delivery limits (a test seam: retry pauses, timeout) */
  eventDelivery?: Partial<DeliveryLimits>;
}

/** Header values of the profile's `via: model` MCP servers: sent to the provider, so kept out of recordings. */
function providerSecrets(profile: Profile): string[] {
  return (profile.mcpServers ?? []).filter((s) => s.via === 'model').flatMap((s) => Object.values(s.resolvedHeaders()));
}

/** EMULATOR_SCRIPT's responder. @throws ConfigError naming the file (unreadable, or a bad field) */
function loadEmulatorScript(file: string): Responder {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      'EMULATOR_SCRIPT',
      `EMULATOR_SCRIPT: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return scriptResponder(parseEmulatorScript(text, file));
}

/**
 * Who is calling whom, as tools and the context service are told (SPEC §9 `call`); an
 * outbound call adds the variables its dial request gave.
 */
function callInfo(stream: AcceptedStream, profile: Profile, outbound: OutboundCall | null): CallInfo {
  const { callSid } = stream.start;
  const variables = { ...outbound?.variables, caller_number: stream.from, called_number: stream.to };
  const direction = outbound === null ? 'inbound' : 'outbound';
  return { callSid, from: stream.from, to: stream.to, profile: profile.key, direction, variables };
}

/** What PostgreSQL mode adds to the store (SPEC §14). */
interface SharedStore {
  db: PgDatabase;
  cluster: PgCluster;
  notify: PgNotify;
  tokenUses: PgTokenUses;
}

/** `call.started` data (SPEC §10). */
function startedData(call: CallStart): Record<string, unknown> {
  const { callSid, from, to, profile, startedAtMs } = call;
  const direction = call.direction ?? 'inbound';
  return { callSid, from, to, profile, direction, startedAt: new Date(startedAtMs).toISOString() };
}

interface LiveCall {
  runner: CallRunner;
  session: CallSession;
  recorder: CallRecorder | null;
  done: Promise<void>;
}

export class Bridge {
  private draining = false;
  private endpoint: RealtimeEndpoint | null = null;
  private readonly live = new Map<string, LiveCall>();
  /** calls that ended but whose recording is still being written: `close()` waits for them */
  private readonly finishing = new Set<Promise<void>>();
  private readonly apologyMulaw: Buffer;
  private emulator: RealtimeEmulator | null = null;
  private admission: CallAdmission | null = null;
  private retention: RecordingsRetention | null = null;
  /** per-call context requests and MCP listings, begun at the webhook */
  private readonly preparation: PreparationDeps;
  /** `close()` has begun: a call still waiting for its context is not started */
  private closed = false;
  private delivery: EventDelivery | null = null;
  /** PostgreSQL mode: the lease, the channel and the pool (SPEC §14) */
  private shared: SharedStore | null = null;
  private outbound: OutboundCalls | null = null;
  /** model sessions opened at the webhook, waiting for their stream (SPEC §11 warm start); null: PREWARM=0 */
  private readonly warm: WarmStarts<WarmLink> | null;
  /** the live calls' events for `GET /api/live` and the console (SPEC §12) */
  readonly liveHub = new LiveHub();
  /** where this instance's live events go: its hub, and with several instances theirs too */
  private livePublisher: Pick<LiveHub, 'publish'> = this.liveHub;

  private constructor(
    readonly config: Config,
    readonly logger: Logger,
    readonly clock: Clock,
    readonly numbers: NumbersRegistry,
    readonly tokens: StreamTokens,
    readonly redactor: Redactor,
    readonly calls: CallStore,
    readonly metrics: BridgeMetrics,
    readonly control: TwilioRest | null,
    private readonly options: BridgeOptions,
    private readonly upgrades: Map<string, UpgradeHandler>,
    readonly server: Server,
  ) {
    const catalog = new McpCatalog({
      clock,
      version: BRIDGE_VERSION,
      onWarning: (server, reason) => logger.warn({ server, reason }, 'MCP server'),
    });
    const contexts = new ContextRequests({ clock, signingSecret: config.bridgeSigningSecret });
    this.warm =
      config.prewarm && config.prewarmMax > 0
        ? new WarmStarts({
            clock,
            maxWaiting: config.prewarmMax,
            onUnclaimed: (callSid) => logger.info({ callSid }, 'warm model session unclaimed; closed'),
          })
        : null;
    this.preparation = { clock, contexts, catalog };
    const clip = parseWav(readFileSync(APOLOGY_CLIP_FILE));
    this.apologyMulaw = clip.ok && clip.value.encoding === 'mulaw' ? clip.value.data : Buffer.alloc(0);
  }

  /** Builds the bridge and starts listening. @throws ConfigError (bad numbers file) */
  static async start(options: BridgeOptions): Promise<Bridge> {
    const { config, logger } = options;
    const clock = options.clock ?? new SystemClock();
    // the dialect is known before the port is: the emulator's URL does not change it
    const { dialect } = resolveRealtimeEndpoint(config, EMULATOR_PATH);
    // with several instances the profiles live in PostgreSQL: the file only seeds them
    const numbers = NumbersRegistry.open(config.numbersFile, logger, clock, {
      watch: config.databaseUrl === null && (options.watchNumbers ?? true),
      check: (profiles) => {
        checkProfilesForDialect(profiles, dialect);
        checkMcpServersForDialect(profiles, dialect);
      },
    });
    const redactor = new Redactor(configSecrets(config));
    const metrics = new BridgeMetrics();
    const storeLogger = logger.child({ component: 'store' });
    const monitor = {
      onError: (op: string) => metrics.storeErrors.inc({ op }),
      onDropped: (op: string) => metrics.storeDropped.inc({ op }),
      onQueued: (n: number) => metrics.storeQueued.set(n),
    };
    let calls: CallStore;
    let issued: IssuedCallLedger;
    let shared: SharedStore | null = null;
    let tokenSecret = config.twilioAuthToken ?? undefined;
    let abandoned: number | null;
    if (config.databaseUrl === null) {
      // reads run on the event loop and must never wait for a lock: busy timeout 0
      const repo = new CallsRepo(path.join(config.dataDir, 'calls.sqlite'), { busyTimeoutMs: 0 });
      const sqlite = new SqliteCallStore(repo, { logger: storeLogger, clock, monitor });
      abandoned = sqlite.markAbandoned();
      calls = sqlite;
      issued = new MemoryIssuedCallLedger(clock);
    } else {
      // SPEC §14: everything several instances share lives in PostgreSQL (its modules, `pg`
      // included, load only here: a SQLite start-up does not pay for them)
      const [{ PgCallStore }, { clusterSecret, PgCluster, PgIssuedCallLedger, PgTokenUses }, { PgDatabase }] =
        await Promise.all([
          import('./store/pg-call-store.js'),
          import('./store/pg-cluster.js'),
          import('./store/pg-database.js'),
        ]);
      const [{ PgNotify }, { PgProfiles, PROFILES_TOPIC }] = await Promise.all([
        import('./store/pg-notify.js'),
        import('./store/pg-numbers.js'),
      ]);
      const db = await PgDatabase.open(config.databaseUrl);
      const { instanceId } = config;
      calls = new PgCallStore({ db, instanceId, logger: storeLogger, clock, monitor });
      issued = new PgIssuedCallLedger(db, clock, ISSUED_CALL_TTL_MS);
      const cluster = new PgCluster({ db, instanceId, clock, logger: storeLogger });
      // after a lost channel, re-read what may have changed meanwhile
      const notify = await PgNotify.open({ db, instanceId, clock, logger: storeLogger, onReconnect: () => refresh() });
      const profiles = new PgProfiles(db, notify, clock, config.numbersFile);
      const refresh = () =>
        void profiles.read().then(
          (text) => numbers.adopt(text),
          (err: unknown) => storeLogger.warn({ err: describeError(err) }, 'shared profiles unreadable'),
        );
      notify.subscribe(PROFILES_TOPIC, refresh);
      numbers.share(
        await profiles.seed(readFileSync(config.numbersFile, 'utf8')),
        (number, fields) =>
          void profiles
            .put(number, fields)
            .catch((err: unknown) =>
              storeLogger.error({ err: describeError(err) }, 'profile edit not stored in PostgreSQL'),
            ),
      );
      abandoned = await cluster.join();
      shared = { db, cluster, notify, tokenUses: new PgTokenUses(db, clock) };
      tokenSecret = config.twilioAuthToken ?? (await clusterSecret(db, 'stream-token-key'));
      logger.info({ instanceId, database: config.databaseUrl.replace(/:[^:@/]*@/, ':***@') }, 'store: PostgreSQL');
    }
    if (abandoned !== null && abandoned > 0)
      logger.warn({ calls: abandoned }, 'calls left open by a previous crash marked incomplete');
    // With an auth token the stream-token key is derived from it, so every instance behind
    // a load balancer accepts the others' tokens; without one, a key every instance sharing
    // the database reads from it, or else a random per-process key.
    const tokens = new StreamTokens(clock, tokenSecret);
    const control =
      options.control !== undefined
        ? options.control
        : config.twilioAccountSid !== null && config.twilioAuthToken !== null
          ? createTwilioRest({
              accountSid: config.twilioAccountSid,
              authToken: config.twilioAuthToken,
              baseUrl: config.twilioApiBaseUrl,
            })
          : null;

    const app = express();
    app.disable('x-powered-by');
    // whatever NODE_ENV says: express's own error pages never show a stack (ours answer JSON first)
    app.set('env', 'production');
    const upgrades = new Map<string, UpgradeHandler>();
    const server = createHttpServer(
      app,
      upgrades,
      logger,
      { ...DEFAULT_HTTP_LIMITS, ...options.httpLimits, maxConnections: config.maxConnections },
      () => metrics.connectionsDropped.inc(),
    );
    const bridge = new Bridge(
      config,
      logger,
      clock,
      numbers,
      tokens,
      redactor,
      calls,
      metrics,
      control,
      options,
      upgrades,
      server,
    );
    bridge.shared = shared;
    if (shared !== null) bridge.livePublisher = shareLiveFeed(bridge.liveHub, shared.notify, config.instanceId);

    const signature = {
      authToken: config.twilioAuthToken,
      publicUrl: config.publicUrl,
      trustProxy: config.trustProxy,
    };
    const isDraining = () => bridge.draining;
    const onRejected = (reason: string) => metrics.webhookRejections.inc({ reason });
    const admission = new CallAdmission(clock, config.maxConcurrentCalls, () => bridge.live.size);
    bridge.admission = admission;
    const outbound = new OutboundCalls({
      rest: control,
      store: calls,
      clock,
      logger: logger.child({ component: 'outbound' }),
      profiles: () => numbers.current(),
      limits: {
        maxConcurrent: config.outboundMaxConcurrent,
        callsPerSecond: config.outboundCps,
        allow: config.outboundAllow,
        staleAfterMs: (600 + config.maxCallDurationS) * 1000,
      },
      endedEvent: (call, atMs) =>
        new CallEvents(call.callSid, webhooksFor(call.profile, config.eventsUrl), () => bridge.delivery?.kick()).event(
          'call.ended',
          null,
          atMs,
        ),
      deliverVerdict: (callSid, answeredBy) => {
        const call = bridge.live.get(callSid);
        call?.runner.dispatch({ type: 'call.answeredBy', answeredBy });
        return call !== undefined;
      },
    });
    bridge.outbound = outbound;
    app.use(healthRoutes({ isDraining, activeCalls: () => bridge.live.size }));
    app.use(
      twilioRoutes({
        signature,
        lookup: (to) => numbers.lookup(to),
        tokens,
        logger,
        isDraining,
        admission,
        issued,
        redirectUrl: config.drainRedirectUrl,
        onRejected,
        onStatus: (p) => bridge.onStatus(p),
        outboundProfile: (callSid) => outbound.get(callSid)?.profile ?? null,
        onAnsweredBy: (callSid, answeredBy) => outbound.onVerdict(callSid, answeredBy),
        onAnswered: (call) => bridge.beginCall(call),
      }),
    );
    const delivery = new EventDelivery({
      store: calls,
      clock,
      logger: logger.child({ component: 'events' }),
      signingSecret: config.bridgeSigningSecret,
      redact: (value) => redactor.deep(value),
      monitor: {
        onAttempt: (type, status) => metrics.eventsTotal.inc({ type, status }),
        onDelivered: (seconds) => metrics.eventDelivery.observe(seconds),
        onPending: (n) => metrics.eventsPending.set(n),
      },
      ...(options.eventDelivery ? { limits: options.eventDelivery } : {}),
    });
    bridge.delivery = delivery;
    if (shared !== null) shared.cluster.onBeat = () => delivery.kick();
    const consoleSessions =
      config.adminToken !== null ? new ConsoleSessions(config.adminToken, () => clock.now()) : null;
    const access = { adminToken: config.adminToken, signedMode: !config.localMode, sessions: consoleSessions };
    app.use(consoleRoutes(access));
    const localControl = new LocalCallControl((callSid, event) => {
      const call = bridge.live.get(callSid);
      call?.runner.dispatch(event);
      return call !== undefined;
    });
    // several instances: a call held by another instance is reached over the cluster channel
    const callControl =
      shared === null
        ? localControl
        : new ClusterCallControl({
            local: localControl,
            bus: shared.notify,
            instanceId: config.instanceId,
            ownerOf: (callSid) => shared.cluster.ownerOf(callSid),
            clock,
          });
    const callData = callDataRoutes({
      recordingsDir: path.join(config.dataDir, 'recordings'),
      hub: bridge.liveHub,
      control: callControl,
      redactor,
      logger,
      clock,
    });
    app.use(
      adminRoutes({
        consoleSessions,
        more: [callData, outboundRoutes({ outbound, signature })],
        adminToken: config.adminToken,
        signedMode: !config.localMode,
        metricsToken: config.metricsToken,
        logger,
        calls,
        numbers,
        redactor,
        metrics,
        events: { events: calls, now: () => clock.now(), onRedeliver: () => delivery.kick() },
      }),
    );
    app.use(jsonNotFound);
    app.use(jsonErrorHandler(logger));
    upgrades.set(
      MEDIA_PATH,
      mediaUpgradeHandler({
        signature,
        tokens,
        clock,
        logger,
        onRejected,
        isLive: (callSid) => bridge.live.has(callSid),
        canStart: (callSid) => admission.canStart(callSid),
        onStream: (s) => bridge.startCall(s),
        ...(shared !== null
          ? { claimToken: (token: string) => shared.tokenUses.claim(token, STREAM_TOKEN_TTL_MS) }
          : {}),
      }),
    );
    if (config.recordCalls) {
      bridge.retention = new RecordingsRetention({
        dir: path.join(config.dataDir, 'recordings'),
        maxBytes: config.recordingsMaxGb * 1e9,
        maxAgeDays: config.recordingsRetentionDays,
        clock,
        logger: logger.child({ component: 'recordings' }),
        isLive: (callSid) => bridge.live.has(callSid),
        onDeleted: (n) => metrics.recordingsDeleted.inc(n),
        ...(options.recordingsMinFreeBytes !== undefined ? { minFreeBytes: options.recordingsMinFreeBytes } : {}),
      });
      bridge.retention.start();
    }

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    delivery.start();
    bridge.endpoint = resolveRealtimeEndpoint(config, `ws://127.0.0.1:${bridge.port}${EMULATOR_PATH}`);
    if (bridge.endpoint.kind === 'emulator')
      bridge.mountEmulator(
        options.emulator ??
          new RealtimeEmulator({
            clock,
            logger: logger.child({ component: 'emulator' }),
            ...(config.emulatorScript !== null ? { responder: loadEmulatorScript(config.emulatorScript) } : {}),
          }),
      );
    return bridge;
  }

  /**
   * The emulator answers local requests only (a loopback peer no proxy or tunnel forwarded): it
   * stands in for a paid API, never for strangers.
   */
  private mountEmulator(emulator: RealtimeEmulator): void {
    this.emulator = emulator;
    this.upgrades.set(EMULATOR_PATH, (req, socket, head) => {
      if (!isLocalRequest(req)) {
        refuseUpgrade(socket, 403, 'Forbidden');
        return;
      }
      emulator.handleUpgrade(req, socket, head);
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>` — where local tools reach this process. */
  get localUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get realtimeEndpoint(): RealtimeEndpoint {
    if (this.endpoint === null) throw new Error('bridge not started');
    return this.endpoint;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Warm model sessions waiting for their stream (SPEC §11). */
  get warmSessions(): number {
    return this.warm?.size ?? 0;
  }

  get activeCalls(): number {
    return this.live.size;
  }

  private profileFor(stream: AcceptedStream): Profile {
    const current = this.numbers.current();
    if (stream.profileKey === DEFAULTS_KEY) return current.defaults;
    const byKey = current.byNumber.get(stream.profileKey);
    if (byKey) return byKey;
    // The file changed between the webhook and the stream: use what the number maps to now.
    const lookup = this.numbers.lookup(stream.to);
    return lookup.kind === 'profile' ? lookup.profile : current.defaults;
  }

  /** The tools a call offers: built-in ones, and HTTP tools signed with BRIDGE_SIGNING_SECRET. */
  private callTools(profile: Profile, log: Logger, mcp: McpListing | undefined): ToolTable {
    const http = {
      signingSecret: this.config.bridgeSigningSecret,
      now: () => this.clock.now(),
      onFailure: (tool: string, reason: string) => log.warn({ tool, reason }, 'tool request failed'),
    };
    return callTools(profile, http, mcp);
  }

  /**
   * A media stream passed the gate. When the call waits for its context or its MCP tools
   * (`call-preparation.ts`) its socket is paused meanwhile: Twilio's frames wait in the
   * socket, in order, and the call is built on the profile the context shaped.
   */
  private startCall(stream: AcceptedStream): void {
    const outbound = this.outbound?.get(stream.start.callSid) ?? null;
    // an outbound call keeps the profile its dial request shaped (machine detection, voicemail message)
    const profile = outbound?.profile ?? this.profileFor(stream);
    const info = callInfo(stream, profile, outbound);
    if (!needsPreparation(profile)) {
      this.runCall(stream, {
        profile: applyContext(profile, null, info.variables),
        info,
        context: null,
        mcp: undefined,
      });
      return;
    }
    stream.ws.pause();
    void prepareCall(this.preparation, profile, info).then((prepared) => {
      if (this.closed) stream.ws.terminate();
      else this.runCall(stream, prepared);
    });
  }

  /** The webhook answered a call: its context and MCP tools are asked for now (SPEC §9, §10). */
  private beginCall(call: { callSid: string; from: string; to: string; profile: Profile }): void {
    const { callSid, from, to, profile } = call;
    const direction = this.outbound?.get(callSid) ? 'outbound' : 'inbound';
    beginPreparation(this.preparation, profile, { callSid, from, to, profile: profile.key, direction });
    // A call that waits for its context or MCP tools is configured with data fetched at its start.
    if (this.warm !== null && !needsPreparation(profile)) this.openWarm(callSid, profile);
  }

  /** Opens and configures the call's model session now, for its stream to claim (SPEC §11 warm start). */
  private openWarm(callSid: string, profile: Profile): void {
    const log = this.logger.child({ callSid });
    const endpoint = endpointForModel(this.realtimeEndpoint, profile.model);
    const interruptible = profile.greeting === null || profile.greetingInterruptible;
    const session = sessionConfigFor(profile, interruptible, toolDeclarations(this.callTools(profile, log, undefined)));
    const opened = this.warm?.open(
      callSid,
      () =>
        new WarmLink(
          ({ onEvent, tap }) => new RealtimeLink({ endpoint, clock: this.clock, logger: log, onEvent, tap }),
          session,
        ),
    );
    if (opened === false) log.debug({ waiting: this.warm?.size }, 'no warm model session: PREWARM_MAX reached');
  }

  /** Builds a call and lets it run. */
  private runCall(stream: AcceptedStream, prepared: PreparedCall): void {
    const { profile, info, context } = prepared;
    const { start } = stream;
    const callSid = start.callSid;
    const log = this.logger.child({ callSid });
    const endpoint = this.realtimeEndpoint;
    const recorder =
      this.config.recordCalls && (this.retention?.recordingAllowed ?? true)
        ? new CallRecorder({
            dir: path.join(this.config.dataDir, 'recordings'),
            clock: this.clock,
            // `via: model` MCP header values travel in session.update
            redactor: this.redactor.withSecrets(providerSecrets(profile)),
            logger: log,
            header: {
              callSid,
              profile: profile.key,
              dialect: endpoint.dialect,
              audioMode: profile.modelAudio,
              bridgeVersion: BRIDGE_VERSION,
              // what `npm run replay` rebuilds the session from (not today's numbers file)
              profileConfig: recordedProfile(profile),
              canUseRest: this.control !== null,
              tuning: { ...DEFAULT_TUNING, ...this.options.tuning },
            },
          })
        : null;
    const events = new CallEvents(callSid, webhooksFor(profile, this.config.eventsUrl), () => this.delivery?.kick());
    const journal = new CallJournal(callSid, this.calls, this.metrics, monotonicMs, events);
    const feed = liveCallFeed(this.livePublisher, callSid);
    let analysed: () => void = () => undefined;
    const analysisDone = new Promise<void>((resolve) => (analysed = resolve));
    const analysis = profile.analysis
      ? new CallAnalysis(profile.analysis, this.clock, (outcome) => {
          this.storeAnalysis(callSid, events, outcome, log);
          analysed();
        })
      : null;
    if (analysis === null) analysed();
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const metrics = this.metrics;
    const { runner, session, twilio } = buildCall({
      callSid,
      profile,
      clock: this.clock,
      logger: log,
      apologyMulaw: this.apologyMulaw,
      control: this.control,
      ...(this.options.tuning ? { tuning: this.options.tuning } : {}),
      tools: ((table) => (recorder === null ? table : tappedTools(table, recorder)))(
        recordedTools(this.callTools(profile, log, prepared.mcp), this.clock, (r) => {
          journal.onTool(r);
          feed.tool(r.name, r.ok, r.ms, r.atMs);
        }),
      ),
      call: info,
      twilio: ({ onEvent, tap }) => {
        const link = new TwilioLink({
          ws: stream.ws,
          streamSid: start.streamSid,
          clock: this.clock,
          logger: log,
          limits: {
            mediaTimeoutMs: this.config.mediaTimeoutS * 1000,
            pingIntervalMs: this.options.twilioPingIntervalMs ?? TWILIO_PING_INTERVAL_MS,
            maxDurationMs: this.config.maxCallDurationS * 1000,
          },
          onAudioDropped: () => metrics.outboundAudioDropped.inc(),
          onEvent: (event) => {
            if (event.type === 'twilio.media') metrics.framesIn.inc();
            onEvent(event);
          },
          ...(tap ? { tap } : {}),
        });
        // the gate read the `start` before the link existed
        link.tapInbound(stream.startText);
        return {
          execute: (cmd) => {
            if (cmd.type === 'twilio.media') metrics.framesOut.inc();
            if (cmd.type === 'twilio.clear') journal.onClearSent();
            link.execute(cmd);
          },
          close: (code, reason) => link.close(code, reason),
        };
      },
      model: ({ onEvent, tap }) => {
        const events: typeof onEvent = analysis === null ? onEvent : (e) => (analysis.onModelEvent(e), onEvent(e));
        // the session opened at the webhook, if this instance opened one and it is still good
        const warm = this.warm?.claim(callSid) ?? null;
        if (warm !== null && !warm.usable) warm.close();
        const link =
          warm !== null && warm.usable
            ? warm.attach(events, tap)
            : new RealtimeLink({
                endpoint: endpointForModel(endpoint, profile.model),
                clock: this.clock,
                logger: log,
                onEvent: events,
                ...(tap ? { tap } : {}),
              });
        if (warm?.usable) log.info('warm model session claimed');
        // the session's model.close runs the post-call analysis first (SPEC §10)
        return analysis === null ? link : analysis.wrap(link);
      },
      tap: recorder,
      observer: {
        onEvent: (e) => journal.onEvent(e),
        onRecord: (r) => {
          journal.onRecord(r);
          if (r.type === 'record.turn') feed.turn(r.role, r.text, r.truncated, r.atMs);
          else if (r.type === 'record.bargeIn') feed.bargeIn(r.atMs);
          else if (r.type === 'record.end') feed.ended(r.outcome, r.atMs);
          // a tool the provider called itself (via: model MCP); the bridge's own are fed above
          else if (r.type === 'record.tool') feed.tool(r.name, r.ok, r.ms, r.atMs);
        },
        onAudioHandled: (direction, ms) => metrics.frameLatency.observe(direction, ms / 1000),
        onFinished: () => {
          this.live.delete(callSid);
          this.outbound?.ended(callSid);
          metrics.activeCalls.set(this.live.size);
          twilio.close(1000, 'call ended');
          const written = Promise.all([recorder?.close(), analysisDone])
            .then(() => undefined)
            .finally(finished);
          this.finishing.add(written);
          void written.finally(() => this.finishing.delete(written));
          log.info({ outcome: session.outcome, bargeIns: session.bargeInCount }, 'call ended');
        },
      },
    });
    const outbound = this.outbound?.get(callSid) ?? null;
    const started: CallStart = {
      callSid,
      from: stream.from,
      to: stream.to,
      profile: profile.key,
      startedAtMs: this.clock.now(),
      direction: info.direction,
    };
    this.calls.startCall(started, events.event('call.started', startedData(started), started.startedAtMs));
    if (context !== null) {
      journal.onContext(context);
      if (!context.ok)
        log.warn({ error: context.error, ms: context.ms }, 'context not applied: the profile is used as is');
    }
    this.live.set(callSid, { runner, session, recorder, done });
    this.livePublisher.publish({
      type: 'call.started',
      callSid,
      from: started.from,
      to: started.to,
      profile: started.profile,
      direction: 'inbound',
      startedAt: new Date(started.startedAtMs).toISOString(),
    });
    this.admission?.started(callSid);
    this.metrics.activeCalls.set(this.live.size);
    log.info({ profile: profile.key, backend: endpoint.kind, audio: profile.modelAudio }, 'call started');
    runner.dispatch(start);
    // Twilio's AMD verdict came before the stream started
    if (outbound?.answeredBy) runner.dispatch({ type: 'call.answeredBy', answeredBy: outbound.answeredBy });
    if (stream.ws.isPaused) stream.ws.resume();
  }

  /** The analysis on the record, with its `call.analyzed` event (SPEC §10); none when the model gave no answer. */
  private storeAnalysis(callSid: string, events: CallEvents, outcome: AnalysisOutcome, log: Logger): void {
    if (!outcome.ok) {
      log.warn({ reason: outcome.reason }, 'post-call analysis: no answer');
      return;
    }
    const { result } = outcome;
    const analysis = { summary: result.summary, data: result.data, valid: result.valid };
    this.calls.storeAnalysis(callSid, analysis, events.event('call.analyzed', analysis, this.clock.now()) ?? null);
    log.info({ valid: result.valid }, 'post-call analysis stored');
  }

  /** Twilio status callbacks (call and stream), recorded against the call. */
  private onStatus(params: Record<string, string>): void {
    const callSid = params['CallSid'];
    if (callSid === undefined) return;
    const stream = params['StreamEvent'];
    const status = stream ?? params['CallStatus'];
    if (status === undefined) return;
    if (stream === undefined) this.outbound?.onStatus(callSid, status);
    this.calls.addStatusEvent(callSid, {
      kind: stream !== undefined ? 'stream' : 'call',
      status,
      detail: params['StreamError'] ?? params['CallDuration'] ?? null,
      atMs: this.clock.now(),
    });
  }

  /** Stops taking new calls; `/readyz` turns 503 at once. */
  beginDrain(): void {
    this.draining = true;
  }

  /**
   * Graceful shutdown: stop taking calls, let live ones finish for up to `timeoutMs`, then
   * end the rest cleanly. Resolves when every call is over.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.beginDrain();
    const all = () => Promise.all([...this.live.values()].map((c) => c.done)).then(() => undefined);
    if (this.live.size === 0) return;
    this.logger.info({ calls: this.live.size, timeoutS: timeoutMs / 1000 }, 'draining: waiting for live calls to end');
    let timer: ReturnType<Clock['setTimer']> | null = null;
    const timedOut = new Promise<'timeout'>(
      (resolve) => (timer = this.clock.setTimer(timeoutMs, () => resolve('timeout'))),
    );
    const result = await Promise.race([all(), timedOut]);
    if (timer !== null) this.clock.clearTimer(timer);
    if (result === 'timeout') {
      this.logger.warn({ calls: this.live.size }, 'drain timeout: ending the remaining calls');
      for (const call of [...this.live.values()])
        call.runner.dispatch({ type: 'call.terminate', reason: 'bridge shutting down' });
      await all();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.warm?.closeAll();
    for (const call of [...this.live.values()])
      call.runner.dispatch({ type: 'call.terminate', reason: 'bridge closed' });
    await Promise.all([...this.live.values()].map((c) => c.done));
    // A call that just ended may still be flushing its recording; exiting now would cut it.
    await Promise.all([...this.finishing]);
    this.preparation.contexts.close();
    await this.preparation.catalog.close();
    this.numbers.close();
    this.retention?.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.emulator?.close();
    this.metrics.close();
    this.delivery?.close();
    await this.calls.close();
    if (this.shared !== null) {
      await this.shared.cluster.leave().catch(() => undefined);
      await this.shared.notify.close();
      await this.shared.db.close();
    }
  }
}
