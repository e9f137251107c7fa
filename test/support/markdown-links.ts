import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/**
 * The relative links of Markdown files and the anchors GitHub gives their headings, so a test can tell that every
 * link between the README, docs/ and the alert rules' runbooks lands somewhere (test/docs-links.test.ts).
 *
 * GitHub's heading anchors (github-slugger): the heading's rendered text, lower-cased, with every character that is
 * not a letter, a mark, a digit, a space, `-` or `_` removed, each space turned into `-`; a slug already taken on the
 * page gets `-1`, `-2`, … Headings and links inside fenced code blocks and code spans are not headings or links.
 * Not handled (none are used here): setext headings (`===` underlines), `_emphasis_` inside a heading.
 */
export function githubSlug(headingText: string): string {
  return headingText
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/** What GitHub renders of a heading's inline Markdown: link and image text without their targets, no code ticks or tags. */
const renderedText = (inline: string): string =>
  inline
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, '')
    .replace(/`/g, '')
    .trim();

/** The text with every line of a fenced code block blanked out, line breaks kept (so offsets still give line numbers). */
function withoutFences(markdown: string): string {
  let fence: string | null = null;
  const lines = markdown.split('\n').map((line) => {
    const opener = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence === null && opener) {
      fence = opener;
      return '';
    }
    if (fence !== null) {
      if (opener && opener[0] === fence[0] && opener.length >= fence.length && line.trim() === opener) fence = null;
      return '';
    }
    return line;
  });
  return lines.join('\n');
}

/** The text without fenced code blocks and with code spans blanked out, line breaks kept. */
const proseOnly = (markdown: string): string => withoutFences(markdown).replace(/(`+)[^`\n]*?\1/g, (span) => ' '.repeat(span.length));

/** Every anchor a page has: its headings' slugs (duplicates numbered as GitHub numbers them) and explicit `<a id|name>`. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const taken = new Map<string, number>(); // slug → how many times its base was taken again (github-slugger's occurrences)
  for (const line of withoutFences(markdown).split('\n')) {
    for (const m of line.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]!);
    const heading = /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+\s*)?$/.exec(line);
    if (!heading) continue;
    const base = githubSlug(renderedText(heading[1]!));
    let slug = base;
    while (taken.has(slug)) {
      const again = taken.get(base)! + 1;
      taken.set(base, again);
      slug = `${base}-${again}`;
    }
    taken.set(slug, 0);
    anchors.add(slug);
  }
  return anchors;
}

export interface MarkdownLink {
  /** 1-based line of the link's target. */
  line: number;
  target: string;
}

const isAbsolute = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

/** The relative targets of inline links and images (`[text](target "title")`) and of reference definitions. */
export function relativeLinks(markdown: string): MarkdownLink[] {
  const prose = proseOnly(markdown);
  const lineAt = (offset: number) => prose.slice(0, offset).split('\n').length;
  const links: MarkdownLink[] = [];
  for (const m of prose.matchAll(/\]\(\s*(<[^>\n]+>|[^)\s]+)(?:\s+"[^"\n]*")?\s*\)/g)) {
    links.push({ line: lineAt(m.index! + 2), target: m[1]!.replace(/^<|>$/g, '') });
  }
  for (const m of prose.matchAll(/^ {0,3}\[[^\]\n]+\]:\s*(\S+)/gm)) links.push({ line: lineAt(m.index!), target: m[1]! });
  return links.filter((link) => !isAbsolute(link.target));
}

export interface BrokenLink {
  /** The linking file, relative to the root. */
  file: string;
  line: number;
  target: string;
  problem: string;
}

/** Where a relative target points, relative to the root; null when it leaves the root. */
const resolveTarget = (root: string, fromFile: string, path: string): string | null => {
  const resolved = normalize(path.startsWith('/') ? path.slice(1) : join(dirname(fromFile), path));
  return resolved.startsWith('..') ? null : resolved;
};

/**
 * The links of `files` (paths relative to `root`) whose file does not exist or whose #anchor is not on the page it
 * names: a Markdown file's heading or explicit anchor, or a line reference (`#L10`, `#L10-L20`) into any other file.
 * `extraLinks` are checked the same way (e.g. the alert rules' runbook_url, relative to the root).
 */
export function brokenLinks(root: string, files: string[], extraLinks: { file: string; line: number; target: string }[] = []): BrokenLink[] {
  const anchorsOf = new Map<string, Set<string>>();
  const anchors = (file: string) => {
    if (!anchorsOf.has(file)) anchorsOf.set(file, headingAnchors(readFileSync(join(root, file), 'utf8')));
    return anchorsOf.get(file)!;
  };
  const links = [
    ...files.flatMap((file) => relativeLinks(readFileSync(join(root, file), 'utf8')).map((link) => ({ file, ...link }))),
    ...extraLinks,
  ];
  const broken: BrokenLink[] = [];
  for (const { file, line, target } of links) {
    const hash = target.indexOf('#');
    const path = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
    const to = path === '' ? file : resolveTarget(root, file, path);
    if (to === null) {
      broken.push({ file, line, target, problem: 'points outside the repository' });
      continue;
    }
    if (!existsSync(join(root, to))) {
      broken.push({ file, line, target, problem: `${to} does not exist` });
      continue;
    }
    if (anchor === null || anchor === '') continue;
    if (statSync(join(root, to)).isDirectory()) {
      broken.push({ file, line, target, problem: `${to} is a folder: it has no #${anchor}` });
    } else if (to.endsWith('.md')) {
      if (!anchors(to).has(anchor)) broken.push({ file, line, target, problem: `${to} has no heading or anchor #${anchor}` });
    } else if (!/^L\d+(-L\d+)?$/.test(anchor)) {
      broken.push({ file, line, target, problem: `#${anchor} is no line reference into ${to}` });
    }
  }
  return broken;
}

/** One line per broken link, for a failure message: `docs/x.md:12: (target) → problem`. */
export const describeBrokenLinks = (broken: BrokenLink[]): string =>
  broken.map((b) => `${b.file}:${b.line}: (${b.target}) → ${b.problem}`).join('\n');
