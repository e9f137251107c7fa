import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { projectRoot } from '../src/runtime/project-paths.js';
import { brokenLinks, describeBrokenLinks, githubSlug, headingAnchors, relativeLinks } from './support/markdown-links.js';

/**
 * The documentation holds together: every relative link and #anchor in README.md and docs/ lands on a file and a
 * heading that exist (GitHub's anchor rules, test/support/markdown-links.ts), so do the alert rules' runbook_url, and
 * the README stays a page a newcomer reads (at most 250 lines). Pure: files only, no servers.
 */
const root = projectRoot();
const README_MAX_LINES = 250;

const markdownFiles = (): string[] => [
  'README.md',
  ...(readdirSync(join(root, 'docs'), { recursive: true }) as string[])
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name))
    .sort(),
];

/** Each runbook_url of an alert rules file, as a link from that file (its target is relative to the repository). */
function runbookLinks(file: string): { file: string; line: number; target: string }[] {
  const text = readFileSync(join(root, file), 'utf8');
  const lines = text.split('\n');
  const rules = (parse(text) as { groups: { rules: { annotations?: { runbook_url?: string } }[] }[] }).groups.flatMap((g) => g.rules);
  return rules
    .map((rule) => rule.annotations?.runbook_url)
    .filter((url): url is string => url !== undefined)
    .map((url) => ({ file, line: lines.findIndex((l) => l.includes(url)) + 1, target: `/${url}` }));
}

describe('the documentation: links, anchors, and a short README', () => {
  it('every relative link and #anchor in README.md and docs/**/*.md resolves', () => {
    const files = markdownFiles();
    expect(files).toEqual(expect.arrayContaining(['README.md', 'docs/README.md', 'docs/architecture.md', 'docs/operating.md']));
    const broken = brokenLinks(root, files);
    expect(broken, `broken links (file:line: (target) → problem):\n${describeBrokenLinks(broken)}`).toEqual([]);
  });

  it("every alert's runbook_url names a section of the runbook that exists", () => {
    const links = runbookLinks('deploy/prometheus/payconfirm-alerts.yml');
    expect(links.length).toBeGreaterThan(10);
    for (const link of links) expect(link.target, `${link.file}:${link.line}`).toMatch(/^\/docs\/operating\.md#/);
    const broken = brokenLinks(root, [], links);
    expect(broken, describeBrokenLinks(broken)).toEqual([]);
  });

  it(`README.md is at most ${README_MAX_LINES} lines`, () => {
    const lines = readFileSync(join(root, 'README.md'), 'utf8').split('\n').length - 1;
    expect(lines, `README.md has ${lines} lines; move detail to a document under docs/ and link it`).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('the README keeps the test command CI runs (.ci/run: npm ci && npm test)', () => {
    expect(readFileSync(join(root, '.ci/run'), 'utf8')).toMatch(/^npm ci && npm test$/m);
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toMatch(/^npm ci && npm test {6}# the whole test suite, against real servers$/m);
  });
});

describe('GitHub heading anchors and link checking (the rules the test above relies on)', () => {
  it('slugs headings as GitHub does: lower case, punctuation but - and _ dropped, spaces to -', () => {
    expect(githubSlug('Idempotency-Key (money-moving POSTs)')).toBe('idempotency-key-money-moving-posts');
    expect(githubSlug('Payments in needs_attention')).toBe('payments-in-needs_attention');
    expect(githubSlug("Stripe's rate limit across workers")).toBe('stripes-rate-limit-across-workers');
    expect(githubSlug('Events the endpoint never got: the backfill')).toBe('events-the-endpoint-never-got-the-backfill');
    expect(githubSlug('What is credited, and how the books follow Stripe')).toBe('what-is-credited-and-how-the-books-follow-stripe');
    expect(githubSlug('E-mail receipts')).toBe('e-mail-receipts');
    expect(githubSlug('A  B')).toBe('a--b');
  });

  it('takes anchors from headings only, outside code, numbering duplicates -1, -2', () => {
    const page = [
      '# Client (`payconfirm/client`)',
      '## Runbook',
      '```sh',
      '# not a heading',
      '```',
      '### Runbook',
      '## Runbook ##',
      '## [Linked](other.md) heading',
      '<a id="explicit-anchor"></a>',
    ].join('\n');
    expect([...headingAnchors(page)].sort()).toEqual(
      ['client-payconfirmclient', 'explicit-anchor', 'linked-heading', 'runbook', 'runbook-1', 'runbook-2'].sort(),
    );
  });

  it('finds relative links (also wrapped over lines and in tables), not absolute ones or code', () => {
    const page = [
      'See [the API](http-api.md#idempotency-key-money-moving-posts) and [a long',
      'title](#here "title").',
      '| a | [cell](configuration.md) |',
      '`[not a link](nowhere.md)` and [web](https://example.com) and ![img](pic.png)',
      '```',
      '[in code](nowhere.md)',
      '```',
      '[ref]: ./docs/ref.md',
    ].join('\n');
    expect(relativeLinks(page)).toEqual([
      { line: 1, target: 'http-api.md#idempotency-key-money-moving-posts' },
      { line: 2, target: '#here' },
      { line: 3, target: 'configuration.md' },
      { line: 4, target: 'pic.png' },
      { line: 8, target: './docs/ref.md' },
    ]);
  });

  it('reports a missing file, a missing anchor and a link out of the repository; passes the good ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'payconfirm-docs-links-'));
    try {
      mkdirSync(join(dir, 'docs'));
      writeFileSync(join(dir, 'README.md'), '# Top\n\n[ok](docs/a.md#section-one) [gone](docs/gone.md) [bad anchor](docs/a.md#nope)\n[self](#top) [up](../x.md) [code](src/x.ts#L3)\n');
      writeFileSync(join(dir, 'docs', 'a.md'), '# A\n\n## Section one\n\n[back](../README.md#top) [wrong](../README.md#Top)\n');
      mkdirSync(join(dir, 'src'));
      writeFileSync(join(dir, 'src', 'x.ts'), '');
      const broken = brokenLinks(dir, ['README.md', 'docs/a.md']);
      expect(broken).toEqual([
        { file: 'README.md', line: 3, target: 'docs/gone.md', problem: 'docs/gone.md does not exist' },
        { file: 'README.md', line: 3, target: 'docs/a.md#nope', problem: 'docs/a.md has no heading or anchor #nope' },
        { file: 'README.md', line: 4, target: '../x.md', problem: 'points outside the repository' },
        { file: 'docs/a.md', line: 5, target: '../README.md#Top', problem: 'README.md has no heading or anchor #Top' },
      ]);
      expect(describeBrokenLinks(broken)).toContain('README.md:3: (docs/gone.md) → docs/gone.md does not exist');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
