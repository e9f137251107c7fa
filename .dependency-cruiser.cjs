/**
 * The layer order, as a rule the tests enforce (test/dependency-rules.test.ts runs `depcruise`):
 *   domain (pure rules)  <  db, stripe  <  activities  <  workflows  <  temporal clients  <  api, cli, worker  <  dev, bench
 * A lower layer never imports a higher one. Workflows are deterministic: no I/O library, no db or Stripe code (types
 * of activities only, which TypeScript erases). Nothing shipped imports the dev tooling, the benchmarks or the tests.
 */
const TOP = ['^src/api/', '^src/cli/', '^src/worker/', '^src/dev/', '^bench/', '^test/'];
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      comment: 'src/domain holds the pure money model: it imports nothing but itself (and node built-ins).',
      severity: 'error',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/'], dependencyTypesNot: ['core'] },
    },
    {
      name: 'db-and-stripe-below-temporal',
      comment: 'Postgres and Stripe code knows nothing of Temporal, activities, workflows or the processes on top.',
      severity: 'error',
      from: { path: ['^src/db/', '^src/stripe/'] },
      to: { path: ['^activities/', '^workflows/', '^src/temporal/', '^node_modules/@temporalio/', ...TOP] },
    },
    {
      name: 'activities-below-workflows',
      comment: 'Activities are plain functions of injected dependencies: no workflow code, nothing of the processes on top.',
      severity: 'error',
      from: { path: '^activities/' },
      // The one exception: the payment workflow's message definitions (defineSignal/defineUpdate/defineQuery, no
      // workflow code) are its public contract, which clients and the event activities signal it by.
      to: { path: ['^workflows/', ...TOP], pathNot: '^workflows/payment-messages\\.ts$' },
    },
    {
      name: 'workflows-deterministic',
      comment: 'Workflow code does no I/O: no db, Stripe, HTTP or process code (activity types only, erased at build).',
      severity: 'error',
      from: { path: '^workflows/' },
      to: {
        path: ['^src/db/', '^src/stripe/', '^src/notifications/', '^src/webhooks/', '^node_modules/(pg|stripe|express|nodemailer|pino)/', ...TOP],
        dependencyTypesNot: ['type-only'],
      },
    },
    {
      name: 'nothing-shipped-imports-dev-tooling',
      comment: 'src/ (but src/dev), activities and workflows never import the dev stack, the benchmarks or the tests.',
      severity: 'error',
      from: { path: ['^src/', '^activities/', '^workflows/'], pathNot: '^src/dev/' },
      to: { path: ['^src/dev/', '^bench/', '^test/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
