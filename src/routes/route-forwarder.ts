import type { Client } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
// @temporalio/proto is CommonJS without named-export hints: Node's ESM loader needs the default import.
import proto from '@temporalio/proto';
import type { StripeEventSummary } from '../domain/stripe-events.js';
import { scrubSecrets } from '../logger.js';
import { routesForEventType } from './route-matching.js';
import type { TeamRoute } from './routes-file.js';
import type { RoutedObjectInput, RoutedStripeEvent } from './team-workflow.js';

/** What one route did with an event: the workflow it started (or found started) or signalled. */
export interface RouteForward {
  route: string;
  workflowId: string;
  action: 'started' | 'already_started' | 'signalled';
}

/** The failure type of a forward that did not reach every matching route; `details[0]` names the routes that failed. */
export const ROUTE_FORWARD_FAILED = 'TeamRouteForwardFailed';

const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;

export const routedEventOf = (event: StripeEventSummary, route: string): RoutedStripeEvent => ({
  id: event.id,
  type: event.type,
  created: event.created,
  livemode: event.livemode,
  apiVersion: event.apiVersion,
  objectId: event.objectId,
  objectType: event.objectType,
  route,
});

export const routeWorkflowId = (route: TeamRoute, event: StripeEventSummary): string =>
  `${route.name}/${route.id === 'per_event' ? event.id : event.objectId}`;

export interface RouteForwarderOptions {
  client: Client;
  routes: readonly TeamRoute[];
  /** How long a task queue seen with a worker is trusted without asking again (one DescribeTaskQueue per queue). */
  pollerCacheMs?: number;
}

/**
 * Forwards one Stripe event to every team route that takes its type — the event workflow's local activity
 * `forwardEventToRoutes` (activities/stripe-event-activities.ts):
 * - first, the route's task queue must have a workflow worker: Temporal accepts a start for any type on any queue,
 *   and a workflow no worker polls for would wait unseen, so an unpolled queue fails the forward instead
 *   (`no worker polls task queue …`): the event ends `failed` and `payconfirm events replay` sends it once the
 *   worker runs. Temporal lists a poller for some minutes after its last poll, so a worker restart is no failure;
 * - `per_event`: start `<route>/<evt_…>` — conflict USE_EXISTING, reuse REJECT_DUPLICATE: a start that finds it
 *   running or finished is done (a retry, a replay);
 * - `per_object`: signal-with-start `<route>/<object id>` with the event; a repeated signal (a retry, a replay) is
 *   dropped by the workflow, by event id (`handleRoutedEvents`).
 * Routes are tried together; if any fails, the activity fails naming them (the others are done, and a retry does
 * them again harmlessly).
 */
export function createRouteForwarder({ client, routes, pollerCacheMs = 10_000 }: RouteForwarderOptions) {
  const polledAt = new Map<string, number>();

  async function hasWorkflowWorker(taskQueue: string): Promise<boolean> {
    const seen = polledAt.get(taskQueue);
    if (seen !== undefined && Date.now() - seen < pollerCacheMs) return true;
    const res = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const polled = (res.pollers?.length ?? 0) > 0;
    if (polled) polledAt.set(taskQueue, Date.now());
    else polledAt.delete(taskQueue);
    return polled;
  }

  async function forwardOne(route: TeamRoute, event: StripeEventSummary): Promise<RouteForward> {
    if (!(await hasWorkflowWorker(route.taskQueue))) {
      throw new Error(`no worker polls task queue ${route.taskQueue} (workflow type ${route.workflowType}): start the route's worker, then \`payconfirm events replay ${event.id}\``);
    }
    const workflowId = routeWorkflowId(route, event);
    const routed = routedEventOf(event, route.name);
    if (route.id === 'per_event') {
      try {
        await client.workflow.start(route.workflowType, {
          taskQueue: route.taskQueue,
          workflowId,
          args: [routed],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          staticSummary: `Stripe ${event.type} ${event.id} (payconfirm route ${route.name})`,
        });
        return { route: route.name, workflowId, action: 'started' };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) return { route: route.name, workflowId, action: 'already_started' };
        throw err;
      }
    }
    const input: RoutedObjectInput = { route: route.name, objectId: event.objectId, objectType: event.objectType, signal: route.signal };
    await client.workflow.signalWithStart(route.workflowType, {
      taskQueue: route.taskQueue,
      workflowId,
      args: [input],
      signal: route.signal,
      signalArgs: [routed],
      staticSummary: `Stripe ${event.objectType ?? 'object'} ${event.objectId} (payconfirm route ${route.name})`,
    });
    return { route: route.name, workflowId, action: 'signalled' };
  }

  return {
    /** The routes this event type goes to (empty: none; the event stays as the built-in routing left it). */
    matching: (type: string): TeamRoute[] => routesForEventType(routes, type),

    async forward(event: StripeEventSummary): Promise<RouteForward[]> {
      const matching = routesForEventType(routes, event.type);
      const settled = await Promise.allSettled(matching.map((r) => forwardOne(r, event)));
      const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [{ route: matching[i]!.name, error: s.reason as unknown }] : []));
      const forwards = settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
      if (failed.length === 0) return forwards;
      const lines = failed.map(({ route, error }) => `route ${route}: ${scrubSecrets(error instanceof Error ? error.message : String(error))}`);
      const done = forwards.length ? `; forwarded meanwhile: ${forwards.map((f) => `${f.route} → ${f.workflowId}`).join(', ')}` : '';
      throw ApplicationFailure.create({
        message: `${lines.join('; ')}${done}`,
        type: ROUTE_FORWARD_FAILED,
        details: [failed.map((f) => f.route)],
      });
    },
  };
}

export type RouteForwarder = ReturnType<typeof createRouteForwarder>;
