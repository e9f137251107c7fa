/**
 * Static checks of the container deployment (docker-compose.yml, Dockerfile, .dockerignore, deploy/)
 * that need no Docker engine and no tool outside node_modules:
 *  - docker-compose.yml is valid against the Compose Specification JSON schema (the copy shipped in the
 *    `dclint` package, validated with ajv) and passes dclint's correctness rules;
 *  - its ${VAR} interpolations are well-formed, and once interpolated the environment each app service
 *    gets is accepted by the app's own config loader (src/config.ts);
 *  - the topology facts the deployment relies on (two workers, one-shot migrate/temporal-setup gating the
 *    api and workers, pinned images, no secret values in any file);
 *  - the Dockerfile's stages, user, init and CMD, and that every `node dist/…` entry point maps back to a
 *    `src/**.ts` source that tsconfig.build.json compiles.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { DCLinter } from 'dclint';
import ts from 'typescript';
import { parseDocument } from 'yaml';
import { loadConfig, requireBackends } from '../src/config.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const rel = (...parts: string[]): string => join(root, ...parts);
const read = (...parts: string[]): string => readFileSync(rel(...parts), 'utf8');

// ---------------------------------------------------------------------------------------------------------
// Loading

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`${what} should be a mapping`);
  return v;
};

/** Parses YAML the way Compose does (YAML 1.2 plus `<<` merge keys); any error or warning fails the test. */
function parseYaml(text: string, what: string): unknown {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
  if (problems.length > 0) throw new Error(`${what}: ${problems.join('\n')}`);
  return doc.toJS({ maxAliasCount: 100 });
}

const composeText = read('docker-compose.yml');
const compose = obj(parseYaml(composeText, 'docker-compose.yml'), 'docker-compose.yml');
const services = obj(compose.services, 'services');
const service = (name: string): Obj => obj(services[name], `services.${name}`);

/** A service's `environment` as a map; list form (`- KEY=value` / `- KEY`) is normalised; null = pass-through. */
function envOf(svc: Obj): Record<string, string | null> {
  const env = svc.environment;
  if (env === undefined) return {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((entry) => {
        const s = String(entry);
        const eq = s.indexOf('=');
        return eq < 0 ? [s, null] : [s.slice(0, eq), s.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(obj(env, 'environment')).map(([k, v]) => [k, v === null ? null : String(v)]));
}

/** `command:` as an argv array (string form split on whitespace, which is all this file needs). */
function argv(svc: Obj): string[] {
  const c = svc.command;
  if (Array.isArray(c)) return c.map(String);
  if (typeof c === 'string') return c.trim().split(/\s+/);
  return [];
}

/** depends_on as name -> condition (short list form means service_started). */
function dependsOn(svc: Obj): Record<string, string> {
  const d = svc.depends_on;
  if (d === undefined) return {};
  if (Array.isArray(d)) return Object.fromEntries(d.map((n) => [String(n), 'service_started']));
  return Object.fromEntries(Object.entries(obj(d, 'depends_on')).map(([n, v]) => [n, String(obj(v, `depends_on.${n}`).condition)]));
}

// ---------------------------------------------------------------------------------------------------------
// Compose interpolation (https://github.com/compose-spec/compose-spec/blob/main/12-interpolation.md), the
// subset without nesting: $$, $VAR, ${VAR}, ${VAR:-d}, ${VAR-d}, ${VAR:?e}, ${VAR?e}, ${VAR:+a}, ${VAR+a}.

const INTERPOLATION = /\$(?:(\$)|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}$]*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g;

interface Reference {
  name: string;
  op: string | undefined;
  arg: string | undefined;
}

/** Every ${…} reference in a string; throws on a `$` that is not a valid interpolation or `$$`. */
function references(value: string, where: string): Reference[] {
  const refs: Reference[] = [];
  let consumed = '';
  let last = 0;
  for (const m of value.matchAll(INTERPOLATION)) {
    consumed += value.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[1]) continue;
    refs.push({ name: (m[2] ?? m[5])!, op: m[3], arg: m[4] });
  }
  consumed += value.slice(last);
  if (consumed.includes('$')) throw new Error(`${where}: malformed interpolation in ${JSON.stringify(value)}`);
  return refs;
}

function interpolate(value: string, env: Record<string, string | undefined>, where: string): string {
  references(value, where); // validates
  return value.replace(INTERPOLATION, (_all, dollar: string | undefined, braced, op: string | undefined, arg: string | undefined, bare) => {
    if (dollar) return '$';
    const name = String(braced ?? bare);
    const v = env[name];
    const set = v !== undefined;
    const nonEmpty = set && v !== '';
    switch (op) {
      case ':-': return nonEmpty ? v : (arg ?? '');
      case '-': return set ? v : (arg ?? '');
      case ':?': if (!nonEmpty) throw new Error(`${where}: required ${name}: ${arg}`); return v;
      case '?': if (!set) throw new Error(`${where}: required ${name}: ${arg}`); return v;
      case ':+': return nonEmpty ? (arg ?? '') : '';
      case '+': return set ? (arg ?? '') : '';
      default: return v ?? '';
    }
  });
}

/** All string leaves with their paths, skipping `x-` extension fields (they are only merged into services). */
function* strings(node: unknown, path: string): Generator<[string, string]> {
  if (typeof node === 'string') yield [path, node];
  else if (Array.isArray(node)) for (const [i, v] of node.entries()) yield* strings(v, `${path}[${i}]`);
  else if (isObj(node)) for (const [k, v] of Object.entries(node)) if (!(path === '' && k.startsWith('x-'))) yield* strings(v, path ? `${path}.${k}` : k);
}

/** Placeholder values a deployer would put in .env: syntactically what the app expects, obviously fake. */
const DEPLOYER_ENV: Record<string, string> = {
  STRIPE_SECRET_KEY: 'sk_test_placeholder',
  STRIPE_WEBHOOK_SECRET: 'whsec_placeholder',
  POSTGRES_PASSWORD: 'placeholder0',
  PAYCONFIRM_DB_PASSWORD: 'placeholder1',
  TEMPORAL_DB_PASSWORD: 'placeholder2',
};

// ---------------------------------------------------------------------------------------------------------
// The facts under test

const APP_IMAGE_SERVICES = ['api', 'worker-1', 'worker-2', 'migrate', 'temporal-setup'];
const LONG_RUNNING_APP = ['api', 'worker-1', 'worker-2'];
const ONE_SHOTS_GATING_APP = ['migrate', 'temporal-setup'];
const APP_ENV_NAMES = [
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'STRIPE_API_BASE',
  'PORT',
  'LOG_LEVEL',
  'STRIPE_RATE_LIMIT_PER_SECOND',
  'STRIPE_OPERATION_RATE_LIMIT_PER_SECOND',
];
const SECRET_NAME = /(SECRET|PASSWORD|PWD|API_KEY|TOKEN)/;
const WORKER_CMD = ['node', 'dist/src/worker/main.js'];
const ENTRY_SOURCES: Record<string, string> = {
  api: 'src/api/main.ts',
  worker: 'src/worker/main.ts',
  cli: 'src/cli/main.ts',
};

describe('docker-compose.yml is a valid Compose file', () => {
  it('validates against the Compose Specification JSON schema', () => {
    const { ajv, validate } = composeSpecValidator();
    const valid = validate(compose);
    expect(ajv.errorsText(validate.errors, { separator: '\n' }), 'schema errors').toBe('No errors');
    expect(valid).toBe(true);
  });

  it('rejects a broken file (the validator is live)', () => {
    const { validate } = composeSpecValidator();
    const broken = structuredClone(compose);
    obj(obj(broken.services, 'services').api, 'api').depends_on = { migrate: { condition: 'service_finished' } };
    expect(validate(broken)).toBe(false);
  });

  it("passes dclint's correctness rules (pinned image tags, no duplicate ports or names, no quoted volumes)", () => {
    const off = 0 as const;
    const error = 2 as const;
    const linter = new DCLinter({
      quiet: true,
      debug: false,
      exclude: [],
      rules: {
        // correctness / safety: on
        'service-image-require-explicit-tag': error,
        'no-duplicate-exported-ports': error,
        'no-duplicate-container-names': error,
        'no-quotes-in-volumes': error,
        'no-version-field': error,
        // style, or at odds with this file on purpose: off
        'no-build-and-image': off, // app services build AND tag one shared image
        'no-unbound-port-interfaces': off, // the API is meant to be reachable
        'require-project-name-field': off, // Compose v1 rejects `name:`; COMPOSE_PROJECT_NAME is in deploy/env.example
        'require-quotes-in-ports': off,
        'service-container-name-regex': off,
        'service-dependencies-alphabetical-order': off,
        'service-keys-order': off,
        'service-ports-alphabetical-order': off,
        'services-alphabetical-order': off,
        'top-level-properties-order': off,
      },
    });
    // dclint's .d.ts files use extensionless relative imports, which NodeNext resolution cannot follow: type locally.
    const results: { filePath: string; messages: { type: string; rule: string; message: string }[] }[] = linter.lintFiles(
      [rel('docker-compose.yml')],
      false,
    );
    expect(results.map((r) => r.filePath)).toEqual([rel('docker-compose.yml')]);
    const errors = results.flatMap((r) => r.messages).filter((m) => m.type === 'error').map((m) => `${m.rule}: ${m.message}`);
    expect(errors).toEqual([]);
  });

  it('uses only well-formed ${VAR} interpolation, which resolves with the documented .env variables', () => {
    for (const [path, value] of strings(compose, '')) references(value, path);
    const resolved = [...strings(compose, '')].map(([path, value]) => interpolate(value, DEPLOYER_ENV, path));
    expect(resolved.length).toBeGreaterThan(0);
    // deploy/env.example documents every variable the file requires.
    const example = read('deploy', 'env.example');
    for (const [path, value] of strings(compose, '')) {
      for (const ref of references(value, path)) {
        if (ref.op === ':?' || ref.op === '?') expect(example, `${ref.name} (required by ${path})`).toMatch(new RegExp(`^${ref.name}=`, 'm'));
      }
    }
  });

  it('fails to start, naming the variable, when a required secret is missing', () => {
    const { STRIPE_SECRET_KEY: _omitted, ...partial } = DEPLOYER_ENV;
    const api = envOf(service('api'));
    expect(() => interpolate(api.STRIPE_SECRET_KEY ?? '', partial, 'api.STRIPE_SECRET_KEY')).toThrow(/STRIPE_SECRET_KEY/);
  });
});

describe('topology', () => {
  it('has the expected services', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'api',
        'migrate',
        'postgres',
        'temporal',
        'temporal-namespace',
        'temporal-schema',
        'temporal-setup',
        'temporal-ui',
        'worker-1',
        'worker-2',
      ].sort(),
    );
  });

  it('runs exactly two workers, as two services (no replicas) on the same image and task queue', () => {
    const workers = Object.entries(services).filter(([, s]) => JSON.stringify(argv(obj(s, 'service'))) === JSON.stringify(WORKER_CMD));
    expect(workers.map(([n]) => n).sort()).toEqual(['worker-1', 'worker-2']);
    const replicas = workers.reduce((sum, [, s]) => sum + Number(obj(obj(s, 'w').deploy ?? {}, 'deploy').replicas ?? 1), 0);
    expect(replicas).toBe(2);
    const [a, b] = workers.map(([, s]) => obj(s, 'worker'));
    expect(a!.image).toBe(b!.image);
    expect(envOf(a!).TEMPORAL_TASK_QUEUE).toBe(envOf(b!).TEMPORAL_TASK_QUEUE);
    expect(a!.hostname).not.toBe(b!.hostname);
  });

  it('runs the API, migrations and Temporal setup with the documented commands', () => {
    expect(argv(service('api'))).toEqual(['node', 'dist/src/api/main.js']);
    expect(argv(service('migrate'))).toEqual(['node', 'dist/src/cli/main.js', 'db', 'migrate']);
    expect(argv(service('temporal-setup'))).toEqual(['node', 'dist/src/cli/main.js', 'temporal', 'setup']);
  });

  it('starts api and workers only after migrate and temporal-setup completed successfully', () => {
    for (const name of LONG_RUNNING_APP) {
      const deps = dependsOn(service(name));
      for (const oneShot of ONE_SHOTS_GATING_APP) expect(deps[oneShot], `${name} -> ${oneShot}`).toBe('service_completed_successfully');
      expect(deps.postgres, `${name} -> postgres`).toBe('service_healthy');
      expect(deps.temporal, `${name} -> temporal`).toBe('service_healthy');
    }
    expect(dependsOn(service('migrate')).postgres).toBe('service_healthy');
    // Search attributes are namespace-scoped: the namespace must exist first.
    expect(dependsOn(service('temporal-setup'))['temporal-namespace']).toBe('service_completed_successfully');
    expect(dependsOn(service('temporal'))['temporal-schema']).toBe('service_completed_successfully');
  });

  it('never restarts a one-shot that others wait on to complete, and has no dependency cycles', () => {
    const completedTargets = new Set(
      Object.values(services).flatMap((s) => Object.entries(dependsOn(obj(s, 's'))).filter(([, c]) => c === 'service_completed_successfully').map(([n]) => n)),
    );
    for (const name of completedTargets) {
      expect(Object.keys(services), name).toContain(name);
      expect([undefined, 'no'], `${name}.restart`).toContain(service(name).restart);
    }
    for (const [name, s] of Object.entries(services)) {
      for (const dep of Object.keys(dependsOn(obj(s, name)))) expect(Object.keys(services), `${name} -> ${dep}`).toContain(dep);
    }
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (n: string, trail: string[]): void => {
      if (done.has(n)) return;
      if (visiting.has(n)) throw new Error(`depends_on cycle: ${[...trail, n].join(' -> ')}`);
      visiting.add(n);
      for (const d of Object.keys(dependsOn(service(n)))) visit(d, [...trail, n]);
      visiting.delete(n);
      done.add(n);
    };
    for (const n of Object.keys(services)) visit(n, []);
  });

  it('gives every app service the app environment, pointing at the compose postgres and temporal', () => {
    for (const name of APP_IMAGE_SERVICES) {
      const env = envOf(service(name));
      for (const key of APP_ENV_NAMES) expect(Object.keys(env), `${name}.${key}`).toContain(key);
      expect(env.TEMPORAL_ADDRESS, name).toBe('temporal:7233');
      const url = new URL(interpolate(env.DATABASE_URL ?? '', DEPLOYER_ENV, `${name}.DATABASE_URL`));
      expect([url.protocol, url.hostname, url.port || '5432', url.pathname], name).toEqual(['postgres:', 'postgres', '5432', '/payconfirm']);
    }
  });

  it("hands each app service an environment the app's own config loader accepts", () => {
    for (const name of APP_IMAGE_SERVICES) {
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(envOf(service(name)))) {
        const v = value === null ? DEPLOYER_ENV[key] : interpolate(value, DEPLOYER_ENV, `${name}.${key}`);
        if (v !== undefined) env[key] = v;
      }
      const config = requireBackends(loadConfig(env));
      expect(config.temporal.address).toBe('temporal:7233');
      expect(config.http.port).toBe(3000);
    }
  });

  it('runs Temporal on Postgres with pinned images, and the UI against temporal:7233 on port 8080', () => {
    const temporal = service('temporal');
    expect(String(temporal.image)).toMatch(/^temporalio\/(server|auto-setup):\d+\.\d+\.\d+$/);
    expect(envOf(temporal).DB).toBe('postgres12');
    expect(envOf(temporal).POSTGRES_SEEDS).toBe('postgres');
    expect(temporal.healthcheck).toBeDefined();
    const ui = service('temporal-ui');
    expect(String(ui.image)).toMatch(/^temporalio\/ui:\d+\.\d+\.\d+$/);
    expect(envOf(ui).TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect((ui.ports as string[]).some((p) => /(^|:)8080:8080$/.test(String(p)))).toBe(true);
    for (const [name, s] of Object.entries(services)) {
      const image = String(obj(s, name).image ?? '');
      if (APP_IMAGE_SERVICES.includes(name)) continue;
      expect(image, `${name} image tag`).toMatch(/^[a-z0-9./-]+:[A-Za-z0-9][\w.-]*$/);
      expect(image, `${name} image tag`).not.toMatch(/:(latest|stable|edge)$/);
    }
  });

  it('keeps postgres on version 16 with a healthcheck, a named volume and the app + Temporal databases', () => {
    const pg = service('postgres');
    expect(String(pg.image)).toMatch(/^postgres:16(\b|$)/);
    expect(obj(pg.healthcheck, 'healthcheck').test).toBeDefined();
    const named = (pg.volumes as string[]).find((v) => v.endsWith(':/var/lib/postgresql/data'));
    expect(named && Object.keys(obj(compose.volumes, 'volumes'))).toContain(named!.split(':')[0]);
    const init = (pg.volumes as string[]).find((v) => v.includes(':/docker-entrypoint-initdb.d'));
    expect(init).toBeDefined();
    const initDir = join(root, init!.split(':')[0]!);
    const sql = readdirSync(initDir).map((f) => readFileSync(join(initDir, f), 'utf8')).join('\n');
    for (const db of ['payconfirm', 'temporal', 'temporal_visibility']) expect(sql).toMatch(new RegExp(`CREATE DATABASE ${db}\\b`));
  });

  it('has the api healthcheck on /healthz and publishes port 3000', () => {
    const api = service('api');
    expect(JSON.stringify(obj(api.healthcheck, 'healthcheck').test)).toContain('/healthz');
    expect((api.ports as string[]).some((p) => String(p).endsWith(':3000'))).toBe(true);
    expect(envOf(api).PORT).toBe('3000');
  });

  it('gives the app processes time to shut down gracefully before SIGKILL', () => {
    const seconds = (d: unknown): number => {
      const m = /^(\d+)s$/.exec(String(d));
      return m ? Number(m[1]) : 10; // Docker's default
    };
    for (const name of LONG_RUNNING_APP) expect(seconds(service(name).stop_grace_period), name).toBeGreaterThan(25); // SHUTDOWN_GRACE_MS default 25 s
  });

  it('mounts only files that exist', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const v of (obj(s, name).volumes as string[] | undefined) ?? []) {
        const source = v.split(':')[0]!;
        if (source.startsWith('.')) expect(existsSync(join(root, source)), `${name}: ${source}`).toBe(true);
      }
      const ep = obj(s, name).entrypoint;
      if (Array.isArray(ep)) {
        for (const arg of ep.map(String).filter((a) => a.startsWith('/deploy/'))) {
          expect(existsSync(join(root, arg.slice(1))), `${name}: ${arg}`).toBe(true);
        }
      }
    }
  });
});

describe('secrets', () => {
  it('takes every secret from the environment, required and without a default (an optional one passed through)', () => {
    /** Secrets of optional features: passed through from the environment when set (a value-less entry), never given a value here. */
    const OPTIONAL_SECRETS = new Set(['NOTIFICATION_WEBHOOK_SECRET']);
    for (const [name, s] of Object.entries(services)) {
      for (const [key, value] of Object.entries(envOf(obj(s, name)))) {
        if (!SECRET_NAME.test(key)) continue;
        if (OPTIONAL_SECRETS.has(key)) {
          expect(value, `${name}.${key} is passed through, without a value`).toBeNull();
          continue;
        }
        expect(value, `${name}.${key}`).not.toBeNull();
        const refs = references(value!, `${name}.${key}`);
        expect(refs.length, `${name}.${key} is one \${VAR:?…}`).toBe(1);
        expect(value!.startsWith('${') && value!.endsWith('}'), `${name}.${key} is only a reference`).toBe(true);
        expect(refs[0]!.op, `${name}.${key}`).toBe(':?');
        expect(refs[0]!.name, `${name}.${key}`).toMatch(SECRET_NAME);
      }
      const dbUrl = envOf(obj(s, name)).DATABASE_URL;
      if (dbUrl) {
        const password = /^postgres(?:ql)?:\/\/[^:/@]+:([^@]*)@/.exec(dbUrl)?.[1];
        expect(password, `${name}.DATABASE_URL password`).toMatch(/^\$\{[A-Z0-9_]+:\?[^}]*\}$/);
      }
    }
  });

  it('contains no secret-looking literal in any deployment file', () => {
    const files = ['docker-compose.yml', 'Dockerfile', '.dockerignore', ...listFiles('deploy')];
    const patterns = [/\b(sk|rk|pk)_(test|live)_[A-Za-z0-9]{6,}/, /\bwhsec_[A-Za-z0-9]{6,}/, /postgres(ql)?:\/\/[^:\s/@]+:(?!\$\{)[^@\s]+@/];
    for (const f of files) {
      const text = read(f);
      for (const p of patterns) expect(p.test(text), `${f} matches ${p}`).toBe(false);
    }
  });

  it('keeps local state and .env files out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', 'dist', '.tools', '.data', '.git', '.env']) expect(ignored).toContain(entry);
    // Needed inside the image: sources (incl. the SQL migrations read at run time) and the manifests.
    for (const needed of ['src', 'src/db/migrations', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(ignored, needed).not.toContain(needed);
    }
  });
});

describe('Dockerfile', () => {
  interface Instruction {
    op: string;
    args: string;
  }
  const dockerfile = read('Dockerfile');
  const instructions: Instruction[] = dockerfile
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
  const globalArgs = new Map<string, string>();
  for (const i of instructions) {
    if (i.op === 'FROM') break;
    if (i.op === 'ARG') {
      const [k, v] = i.args.split('=');
      globalArgs.set(k!, v ?? '');
    }
  }
  const stages: { base: string; name: string | undefined; body: Instruction[] }[] = [];
  for (const i of instructions) {
    if (i.op === 'FROM') {
      const [image, as, name] = i.args.split(/\s+/);
      const base = image!.replace(/\$\{?([A-Za-z_]\w*)\}?/g, (_m, n: string) => globalArgs.get(n) ?? '');
      stages.push({ base, name: as?.toUpperCase() === 'AS' ? name : undefined, body: [] });
    } else stages.at(-1)?.body.push(i);
  }
  const runtime = stages.at(-1)!;
  const run = (s: { body: Instruction[] }): string => s.body.filter((i) => i.op === 'RUN').map((i) => i.args).join('\n');
  const execForm = (args: string): string[] => JSON.parse(args) as string[];

  it('is multi-stage on node:20-bookworm-slim: npm ci + build, then production-only deps', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s.base === 'node:20-bookworm-slim' || stages.some((o) => o.name === s.base), s.base).toBe(true);
    const all = stages.map(run).join('\n');
    expect(all).toMatch(/npm ci(?![^\n]*--omit=dev)/);
    expect(all).toMatch(/npm run build/);
    expect(all).toMatch(/npm ci[^\n]*--omit=dev/);
    // The runtime stage gets its node_modules from a production-only install, never from the build stage.
    const nodeModulesFrom = runtime.body.find((i) => i.op === 'COPY' && /\/node_modules\b/.test(i.args));
    const fromStage = /--from=(\S+)/.exec(nodeModulesFrom?.args ?? '')?.[1];
    const prodStage = stages.find((s) => s.name === fromStage);
    expect(prodStage && run(prodStage)).toMatch(/npm ci[^\n]*--omit=dev/);
  });

  it('runs as a non-root user with NODE_ENV=production under an init process', () => {
    const user = runtime.body.filter((i) => i.op === 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0', '0:0']).not.toContain(user);
    expect(runtime.body.some((i) => i.op === 'ENV' && /\bNODE_ENV=production\b/.test(i.args))).toBe(true);
    const entrypoint = execForm(runtime.body.filter((i) => i.op === 'ENTRYPOINT').at(-1)!.args);
    expect(entrypoint[0]).toMatch(/(^|\/)(tini|dumb-init)$/);
  });

  it('ships the built output and the sources the app reads at run time (SQL migrations)', () => {
    expect(runtime.body.some((i) => i.op === 'COPY' && /--from=\S+\s+\/app\/dist\s+\.\/dist$/.test(i.args))).toBe(true);
    // src/db/migrate.ts reads <project root>/src/db/migrations/*.sql, which tsc does not emit into dist/.
    expect(runtime.body.some((i) => i.op === 'COPY' && !i.args.includes('--from') && /^(\.|\.\/?)\s+(\.|\.\/)$/.test(i.args.replace(/--\S+\s+/g, '')))).toBe(true);
  });

  it('maps every `node dist/…js` entry point (CMD and compose commands) to a compiled src/**.ts source', () => {
    const tsconfig = readTsconfig('tsconfig.json');
    const build = readTsconfig('tsconfig.build.json');
    const outDir = posix.normalize(String(obj(tsconfig.compilerOptions, 'compilerOptions').outDir));
    const rootDir = posix.normalize(String(obj(tsconfig.compilerOptions, 'compilerOptions').rootDir ?? '.'));
    const included = (build.include as string[]).map((p) => posix.normalize(p));

    const cmd = execForm(runtime.body.filter((i) => i.op === 'CMD').at(-1)!.args);
    const entryFiles = new Set<string>([cmd[1]!]);
    expect(cmd[0]).toBe('node');
    for (const s of Object.values(services)) {
      const a = argv(obj(s, 'service'));
      if (a[0] === 'node' && a[1]?.endsWith('.js')) entryFiles.add(a[1]);
    }
    const sources = [...entryFiles].map((js) => {
      const inOut = posix.relative(outDir, posix.normalize(js));
      expect(inOut.startsWith('..'), `${js} is under ${outDir}/`).toBe(false);
      const source = posix.join(rootDir, inOut).replace(/\.js$/, '.ts');
      expect(included.some((dir) => source.startsWith(`${dir}/`)), `${source} is compiled by tsconfig.build.json`).toBe(true);
      return source;
    });
    expect(sources.sort()).toEqual(Object.values(ENTRY_SOURCES).sort());
    expect(cmd[1]).toBe('dist/src/api/main.js');
  });
});

// ---------------------------------------------------------------------------------------------------------

/**
 * The Compose Specification schema (compose-spec/compose-spec schema/compose-spec.json, Apache-2.0) as shipped
 * in the `dclint` npm package (schemas/compose.schema.json; not in its `exports`, so found via package.json).
 */
function composeSpecValidator() {
  const require = createRequire(import.meta.url);
  const schemaPath = join(dirname(require.resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const { $schema, ...schema } = JSON.parse(readFileSync(schemaPath, 'utf8')) as Obj;
  expect(schema.title).toBe('Compose Specification');
  // Draft-07 is Ajv's default dialect; the file names it by an https URI Ajv does not register, so the key is
  // dropped rather than fetched. Should the spec move to another draft, this fails instead of validating wrongly.
  expect(String($schema)).toMatch(/json-schema\.org\/draft-07\/schema#?$/);
  // Union types and the `deprecated` annotation are used by the spec: strict mode would reject the schema itself.
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  return { ajv, validate: ajv.compile(schema) };
}

function listFiles(dir: string): string[] {
  return readdirSync(rel(dir)).flatMap((name) => {
    const p = posix.join(dir, name);
    return statSync(rel(p)).isDirectory() ? listFiles(p) : [p];
  });
}

function readTsconfig(file: string): Obj {
  const parsed = ts.parseConfigFileTextToJson(file, read(file));
  if (parsed.error) throw new Error(`${file}: ${ts.flattenDiagnosticMessageText(parsed.error.messageText, '\n')}`);
  return obj(parsed.config, file);
}
