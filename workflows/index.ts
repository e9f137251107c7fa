// The workflow bundle's entry point: every workflow type the worker registers. Deterministic code only.
export { paymentWorkflow } from './payment-workflow.js';
export { stripeEventWorkflow } from './stripe-event-workflow.js';
export { subscriptionWorkflow } from './subscription-workflow.js';
export { stripeEventBackfillWorkflow } from './stripe-event-backfill-workflow.js';
export { webhookInboxPruneWorkflow } from './webhook-inbox-prune-workflow.js';
export { paymentReconcileWorkflow } from './payment-reconcile-workflow.js';
