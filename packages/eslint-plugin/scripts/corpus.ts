// Lints the labeled corpus (../corpus) with ctxkit.configs.recommended and prints per-rule and
// overall precision and recall. Labels: a trailing `// expect: rule-a, rule-b` on the line a
// finding belongs to; files without labels are clean. `npm run corpus -w packages/eslint-plugin`.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { standaloneConfig } from '../src/config.js';
import { rules } from '../src/rules/index.js';

/** Directory of the corpus. */
export const corpusDir = fileURLToPath(new URL('../corpus/', import.meta.url));

/** Counts for one rule (or overall). */
export interface Score {
  tp: number;
  fp: number;
  fn: number;
  /** tp / (tp + fp); 1 when the rule reported nothing. */
  precision: number;
  /** tp / (tp + fn); 1 when nothing was expected. */
  recall: number;
}

/** Result of a corpus run. */
export interface CorpusReport {
  files: number;
  cleanFiles: number;
  perRule: Record<string, Score>;
  overall: Score;
  /** Human-readable list of false positives and negatives (`file:line rule`). */
  mistakes: string[];
  /** Files that failed to parse (must be empty). */
  fatal: string[];
  /** Overall score on the held-out files (`// set: holdout`), written after the rules were frozen. */
  holdout: Score & { files: number };
  /**
   * Scores on the independent set (`// set: independent`): snippets written and labeled from the
   * rule docs by someone who had not read the rules' implementation.
   */
  independent: SetScore;
}

/** Per-rule and overall scores on one marked subset of the corpus. */
export interface SetScore {
  files: number;
  cleanFiles: number;
  perRule: Record<string, Score>;
  overall: Score;
}

interface Label {
  file: string;
  line: number;
  rule: string;
  matched: boolean;
}

function score(tp: number, fp: number, fn: number): Score {
  return { tp, fp, fn, precision: tp + fp === 0 ? 1 : tp / (tp + fp), recall: tp + fn === 0 ? 1 : tp / (tp + fn) };
}

/** Lints the corpus and scores the findings against the labels. */
export async function runCorpus(): Promise<CorpusReport> {
  const files = readdirSync(corpusDir)
    .filter((f) => /\.(ts|js)$/.test(f))
    .sort();
  const labels: Label[] = [];
  const holdoutFiles = new Set<string>();
  const independentFiles = new Set<string>();
  let cleanFiles = 0;
  let independentClean = 0;
  for (const file of files) {
    const lines = readFileSync(join(corpusDir, file), 'utf8').split('\n');
    if (lines.some((l) => l.trim() === '// set: holdout')) holdoutFiles.add(file);
    const independent = lines.some((l) => l.trim() === '// set: independent');
    if (independent) independentFiles.add(file);
    let labeled = false;
    lines.forEach((text, i) => {
      const m = /\/\/ expect: ([\w\-, ]+)$/.exec(text);
      if (!m) return;
      labeled = true;
      for (const rule of m[1]!
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        if (!(rule in rules)) throw new Error(`${file}:${i + 1}: unknown rule in label: ${rule}`);
        labels.push({ file, line: i + 1, rule, matched: false });
      }
    });
    if (!labeled) {
      cleanFiles++;
      if (independent) independentClean++;
    }
  }
  const eslint = new ESLint({
    cwd: corpusDir,
    overrideConfigFile: true,
    overrideConfig: standaloneConfig({ root: corpusDir, typed: true }) as ESLint.Options['overrideConfig'],
  });
  const results = await eslint.lintFiles(files);
  const counts = new Map<string, { tp: number; fp: number; fn: number }>(Object.keys(rules).map((r) => [r, { tp: 0, fp: 0, fn: 0 }]));
  const mistakes: string[] = [];
  const fatal: string[] = [];
  let holdoutFp = 0;
  const independentFp = new Map<string, number>(Object.keys(rules).map((r) => [r, 0]));
  for (const r of results) {
    const file = r.filePath.slice(corpusDir.length);
    for (const msg of r.messages) {
      if (msg.fatal || !msg.ruleId) {
        fatal.push(`${file}:${msg.line} ${msg.message}`);
        continue;
      }
      const rule = msg.ruleId.replace(/^ctxkit\//, '');
      const c = counts.get(rule);
      if (!c) continue;
      const end = msg.endLine ?? msg.line;
      const candidates = labels.filter((l) => !l.matched && l.file === file && l.rule === rule && l.line >= msg.line && l.line <= end);
      const hit = candidates.find((l) => l.line === msg.line) ?? candidates[0];
      if (hit) {
        hit.matched = true;
        c.tp++;
      } else {
        c.fp++;
        if (holdoutFiles.has(file)) holdoutFp++;
        if (independentFiles.has(file)) independentFp.set(rule, independentFp.get(rule)! + 1);
        mistakes.push(`FP ${file}:${msg.line} ${rule}: ${msg.message}`);
      }
    }
  }
  for (const l of labels) {
    if (l.matched) continue;
    counts.get(l.rule)!.fn++;
    mistakes.push(`FN ${l.file}:${l.line} ${l.rule}`);
  }
  const perRule: Record<string, Score> = {};
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (const [rule, c] of counts) {
    perRule[rule] = score(c.tp, c.fp, c.fn);
    tp += c.tp;
    fp += c.fp;
    fn += c.fn;
  }
  const hl = labels.filter((l) => holdoutFiles.has(l.file));
  const hTp = hl.filter((l) => l.matched).length;
  const holdout = { ...score(hTp, holdoutFp, hl.length - hTp), files: holdoutFiles.size };
  const iPerRule: Record<string, Score> = {};
  let iTp = 0;
  let iFp = 0;
  let iFn = 0;
  for (const rule of Object.keys(rules)) {
    const il = labels.filter((l) => l.rule === rule && independentFiles.has(l.file));
    const t = il.filter((l) => l.matched).length;
    const f = independentFp.get(rule)!;
    iPerRule[rule] = score(t, f, il.length - t);
    iTp += t;
    iFp += f;
    iFn += il.length - t;
  }
  const independent: SetScore = {
    files: independentFiles.size,
    cleanFiles: independentClean,
    perRule: iPerRule,
    overall: score(iTp, iFp, iFn),
  };
  return { files: files.length, cleanFiles, perRule, overall: score(tp, fp, fn), mistakes, fatal, holdout, independent };
}

/** The report as a Markdown table. */
export function formatReport(r: CorpusReport): string {
  const f = (x: number): string => x.toFixed(2);
  const rows = Object.entries(r.perRule).map(
    ([rule, s]) => `| ${rule} | ${s.tp + s.fn} | ${s.tp} | ${s.fp} | ${s.fn} | ${f(s.precision)} | ${f(s.recall)} |`,
  );
  const o = r.overall;
  const i = r.independent.overall;
  return [
    `Corpus: ${r.files} files, ${r.cleanFiles} clean (${((100 * r.cleanFiles) / r.files).toFixed(0)}%), ${o.tp + o.fn} labeled findings.`,
    '',
    '| rule | labeled | TP | FP | FN | precision | recall |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    `| **overall** | ${o.tp + o.fn} | ${o.tp} | ${o.fp} | ${o.fn} | **${f(o.precision)}** | **${f(o.recall)}** |`,
    `| held-out subset (${r.holdout.files} files) | ${r.holdout.tp + r.holdout.fn} | ${r.holdout.tp} | ${r.holdout.fp} | ${r.holdout.fn} | ${f(r.holdout.precision)} | ${f(r.holdout.recall)} |`,
    `| independent subset (${r.independent.files} files) | ${i.tp + i.fn} | ${i.tp} | ${i.fp} | ${i.fn} | ${f(i.precision)} | ${f(i.recall)} |`,
    '',
    `Independent set (\`// set: independent\`, labeled from the docs only): ${r.independent.files} files, ${r.independent.cleanFiles} clean.`,
    '',
    '| rule | labeled | TP | FP | FN | precision | recall |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...Object.entries(r.independent.perRule).map(
      ([rule, s]) => `| ${rule} | ${s.tp + s.fn} | ${s.tp} | ${s.fp} | ${s.fn} | ${f(s.precision)} | ${f(s.recall)} |`,
    ),
    `| **overall** | ${i.tp + i.fn} | ${i.tp} | ${i.fp} | ${i.fn} | **${f(i.precision)}** | **${f(i.recall)}** |`,
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const report = await runCorpus();
  process.stdout.write(formatReport(report) + '\n');
  if (report.mistakes.length > 0) process.stdout.write('\n' + report.mistakes.join('\n') + '\n');
  if (report.fatal.length > 0) {
    process.stdout.write('\nUnparseable:\n' + report.fatal.join('\n') + '\n');
    process.exitCode = 2;
  }
}
