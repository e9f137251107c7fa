import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, type Config } from '../config.js';
import { EVENT_PATTERN, paymentTypesCoveredBy } from './route-matching.js';
import { STRIPE_EVENT_SIGNAL } from './team-workflow.js';

/**
 * The routes file (PAYCONFIRM_ROUTES_FILE): which Stripe event types go to which of the team's own workflows.
 * Read once when a worker starts; every mistake is one line, and the worker refuses to start with any.
 *
 * ```yaml
 * routes:
 *   - name: billing-sync                  # also the workflow id prefix: billing-sync/sub_…
 *     events: [customer.subscription.*]   # exact types, or a prefix ending in .*
 *     workflow_type: billingSyncWorkflow
 *     task_queue: billing-team            # the team's worker polls it
 *     id: per_object                      # per_event: <name>/<evt_…>; per_object: <name>/<data.object.id>
 *     signal: stripeEvent                 # per_object only; default stripeEvent
 * ```
 */

export type RouteIdScheme = 'per_event' | 'per_object';

export interface TeamRoute {
  name: string;
  /** Exact types or `prefix.*`; never one of payconfirm's payment types. */
  events: string[];
  workflowType: string;
  taskQueue: string;
  id: RouteIdScheme;
  /** per_object: the signal events arrive on. */
  signal: string;
}

/** A routes file with mistakes: `mistakes` holds one line each; the message lists them all. */
export class RoutesFileError extends ConfigError {
  constructor(readonly file: string, readonly mistakes: string[]) {
    super(
      'PAYCONFIRM_ROUTES_FILE',
      `(${file}) has ${mistakes.length === 1 ? 'a mistake' : `${mistakes.length} mistakes`}; no worker starts until it is fixed:\n${mistakes.map((m) => `  ${m}`).join('\n')}`,
    );
  }
}

const ROUTE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const TEMPORAL_NAME = /^[^\s]{1,255}$/;
const ROUTE_FIELDS = ['name', 'events', 'workflow_type', 'task_queue', 'id', 'signal'] as const;

const required = (what: string) => ({ error: (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${what}`) });
const temporalName = (what: string) => z.string(required(what)).regex(TEMPORAL_NAME, `must be ${what}: 1–255 characters, no spaces`);

const routeSchema = z.strictObject(
  {
    name: z.string(required('a name')).regex(ROUTE_NAME, 'must be 1–63 lowercase letters, digits, - or _ (it prefixes workflow ids)'),
    events: z.array(z.string(required('an event type')), required('a list of event types')).min(1, 'must list at least one event type'),
    workflow_type: temporalName('a workflow type'),
    task_queue: temporalName('a task queue'),
    id: z.enum(['per_event', 'per_object'], required('per_event or per_object')),
    signal: temporalName('a signal name').optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'unknown field' : 'must be a mapping with name, events, workflow_type, task_queue and id') },
);

const fileSchema = z.strictObject(
  { routes: z.array(z.unknown(), required('a list of routes')) },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? 'unknown field' : 'the file must be a mapping with a `routes:` list') },
);

type Issue = z.core.$ZodIssue;

const pathText = (path: readonly PropertyKey[]): string =>
  path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');

function issueText(issue: Issue): string {
  if (issue.code === 'unrecognized_keys') {
    const where = issue.path.length ? `${pathText(issue.path)}: ` : '';
    return `${where}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  }
  return issue.path.length ? `${pathText(issue.path)} ${issue.message}` : issue.message;
}

export interface RoutesFileOptions {
  /** payconfirm's own task queue (TEMPORAL_TASK_QUEUE): a route may use neither it nor its `-stripe` queue. */
  payconfirmTaskQueues?: readonly string[];
}

/** Validates a routes file's text. Throws RoutesFileError listing every mistake (one line each). */
export function parseRoutesFile(text: string, file: string, options: RoutesFileOptions = {}): TeamRoute[] {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new RoutesFileError(
      file,
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return `${at ? `line ${at.line}, column ${at.col}: ` : ''}${what} (not valid YAML)`;
      }),
    );
  }
  if (doc.contents === null) return []; // an empty file: no routes
  const top = fileSchema.safeParse(doc.toJS());
  if (!top.success) throw new RoutesFileError(file, top.error.issues.map(issueText));

  const mistakes: string[] = [];
  const routes: TeamRoute[] = [];
  const firstIndexOfName = new Map<string, number>();
  top.data.routes.forEach((raw, i) => {
    const rawName = typeof raw === 'object' && raw !== null && typeof (raw as { name?: unknown }).name === 'string' ? (raw as { name: string }).name : null;
    const label = `route ${rawName !== null ? `"${rawName}" ` : ''}(routes[${i}])`;
    const say = (line: string) => mistakes.push(`${label}: ${line}`);

    if (rawName !== null) {
      const earlier = firstIndexOfName.get(rawName);
      if (earlier !== undefined) say(`name "${rawName}" is already the name of routes[${earlier}] (names are workflow id prefixes: each must be unique)`);
      else firstIndexOfName.set(rawName, i);
    }
    const parsed = routeSchema.safeParse(raw);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) say(issue.code === 'unrecognized_keys' ? `${issueText(issue)} (a route has ${ROUTE_FIELDS.join(', ')})` : issueText(issue));
    }
    // The checks below need the fields' shapes; each runs on what is there, so one pass reports everything.
    const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
    if (Array.isArray(r.events)) {
      r.events.forEach((pattern, j) => {
        if (typeof pattern !== 'string') return;
        if (!EVENT_PATTERN.test(pattern)) {
          say(`events[${j}] "${pattern}" is not a Stripe event type: an exact type (customer.created) or a prefix ending in .* (customer.subscription.*)`);
          return;
        }
        const taken = paymentTypesCoveredBy(pattern);
        if (taken.length > 0) {
          say(
            `events[${j}] "${pattern}" ${taken.length === 1 && taken[0] === pattern ? 'is' : `covers ${taken.join(', ')}:`} payconfirm's own payment event${taken.length > 1 ? 's' : ''} ` +
              `(money moves only through the payment workflow; for ledger movements use the outgoing notifications)`,
          );
        }
      });
      const repeated = r.events.filter((p, j) => typeof p === 'string' && r.events !== undefined && (r.events as unknown[]).indexOf(p) !== j);
      if (repeated.length > 0) say(`events lists ${[...new Set(repeated)].map((p) => `"${String(p)}"`).join(', ')} more than once`);
    }
    if (r.signal !== undefined && r.id === 'per_event') say('signal applies to per_object routes only (a per_event workflow gets the event as its argument)');
    if (typeof r.task_queue === 'string' && options.payconfirmTaskQueues?.includes(r.task_queue)) {
      say(`task_queue "${r.task_queue}" is payconfirm's own: a route's workflow runs on the team's worker and queue`);
    }
    if (parsed.success) {
      const p = parsed.data;
      routes.push({ name: p.name, events: p.events, workflowType: p.workflow_type, taskQueue: p.task_queue, id: p.id, signal: p.signal ?? STRIPE_EVENT_SIGNAL });
    }
  });
  if (mistakes.length > 0) throw new RoutesFileError(file, mistakes);
  return routes;
}

/** Reads PAYCONFIRM_ROUTES_FILE (none: no team routes). Throws RoutesFileError for an unreadable or invalid file. */
export function loadRoutesFile(path: string | undefined, options: RoutesFileOptions = {}): TeamRoute[] {
  if (path === undefined) return [];
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RoutesFileError(file, [code === 'ENOENT' ? 'the file does not exist' : `the file cannot be read (${code ?? (err as Error).message})`]);
  }
  return parseRoutesFile(text, file, options);
}

/** One line per route for the worker's start log: `billing-sync: customer.subscription.* → billingSyncWorkflow on billing-team (per_object)`. */
export const describeRoutes = (routes: readonly TeamRoute[]): string[] =>
  routes.map((r) => `${r.name}: ${r.events.join(', ')} → ${r.workflowType} on ${r.taskQueue} (${r.id})`);

/** The service's team routes: PAYCONFIRM_ROUTES_FILE, checked against payconfirm's own task queues. */
export const loadTeamRoutes = (config: Pick<Config, 'routesFile' | 'temporal'>): TeamRoute[] =>
  loadRoutesFile(config.routesFile, { payconfirmTaskQueues: [config.temporal.taskQueue, config.temporal.stripeTaskQueue] });
