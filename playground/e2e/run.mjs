// End-to-end test of the Rampart playground in headless Chromium.
//
//   node playground/e2e/run.mjs [path/to/rampart]
//
// Starts `rampart playground --no-open` on a free port (the binary given, or
// RAMPART_BIN, or the newest of target/{release,debug}/rampart), drives the
// page with playwright-core and Debian's /usr/bin/chromium (CHROMIUM
// overrides), saves screenshots under /tmp, prints the page weight and the
// time to the first result, and ends with `N passed, N failed`.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';

const workspace = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const screenshotDirectory = process.env.SCREENSHOT_DIR || os.tmpdir();
const ASSETS = ['index.html', 'app.js', 'style.css', 'rampart_playground.wasm'];

function findBinary() {
  const given = process.argv[2] || process.env.RAMPART_BIN;
  if (given) return path.resolve(given);
  const candidates = ['release', 'debug']
    .map((profile) => path.join(workspace, 'target', profile, 'rampart'))
    .filter((candidate) => fs.existsSync(candidate))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  if (!candidates.length) throw new Error('no rampart binary: build it (cargo build) or pass its path');
  return candidates[0];
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Starts the server; resolves with its URL once it prints it. */
function startServer(binary, port) {
  const child = spawn(binary, ['playground', '--no-open', '--addr', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${output}`)), 30_000);
    const collect = (chunk) => {
      output += chunk;
      const match = /Rampart playground at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('exit', (code) => reject(new Error(`the server exited (${code}): ${output}`)));
  });
  return { child, url };
}

/** Line (1-based) and column (1-based) of an offset in a text. */
function lineColumn(text, offset) {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: before[before.length - 1].length + 1 };
}

function check(condition, message) {
  if (!condition) throw new Error(message);
}

/** Puts the caret over `[start, end)` of a textarea, as a user selecting with the mouse would. */
async function select(page, selector, start, end) {
  await page.focus(selector);
  await page.$eval(selector, (textarea, [from, to]) => textarea.setSelectionRange(from, to), [start, end]);
}

async function main() {
  const binary = findBinary();
  const port = await freePort();
  const server = startServer(binary, port);
  const url = await server.url;
  console.log(`server: ${binary} at ${url}`);

  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1440, height: 860 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] || (await context.newPage());
  const pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });

  const results = [];
  const metrics = {};
  const step = async (name, body) => {
    try {
      await body();
      results.push(true);
      console.log(`ok   ${name}`);
    } catch (error) {
      results.push(false);
      console.log(`FAIL ${name}\n     ${error.message.split('\n').join('\n     ')}`);
    }
  };

  try {
    await step('the default example is evaluated on load and its finding shown', async () => {
      const started = Date.now();
      await page.goto(url);
      await page.waitForSelector('[data-finding]', { timeout: 30_000 });
      metrics.firstResultWallMs = Date.now() - started;
      const marks = await page.evaluate(() => ({
        engine: performance.getEntriesByName('rampart-engine-ready')[0]?.startTime,
        first: performance.getEntriesByName('rampart-first-result')[0]?.startTime,
      }));
      metrics.engineReadyMs = marks.engine;
      metrics.firstResultMs = marks.first;
      const manifest = await page.inputValue('#manifest');
      const offset = manifest.indexOf('privileged: true');
      check(offset >= 0, `the default manifest has no \`privileged: true\`:\n${manifest}`);
      const expected = lineColumn(manifest, offset);
      const findings = await page.$$eval('[data-finding]', (items) =>
        items.map((item) => ({ policy: item.dataset.finding, line: Number(item.dataset.line), column: Number(item.dataset.column) })),
      );
      check(findings.length === 1, `expected one finding, got ${JSON.stringify(findings)}`);
      check(findings[0].policy === 'pss.baseline.privileged', `finding of ${findings[0].policy}`);
      check(
        findings[0].line === expected.line && findings[0].column === expected.column,
        `finding at ${findings[0].line}:${findings[0].column}, expected ${expected.line}:${expected.column}`,
      );
      const highlighted = await page.$(`#manifest-editor pre .line.finding[data-line="${expected.line}"]`);
      check(highlighted, `manifest line ${expected.line} is not highlighted`);
      const tests = await page.$$eval('[data-test]', (items) => items.map((item) => item.dataset.passed));
      check(tests.length > 0 && tests.every((passed) => passed === 'true'), `tests: ${JSON.stringify(tests)}`);
      await page.screenshot({ path: path.join(screenshotDirectory, 'rampart-playground-finding.png') });
    });

    await step('typing a fix into the manifest makes the finding disappear', async () => {
      const manifest = await page.inputValue('#manifest');
      const start = manifest.indexOf('privileged: true') + 'privileged: '.length;
      await select(page, '#manifest', start, start + 'true'.length);
      await page.keyboard.type('false', { delay: 20 });
      await page.waitForSelector('[data-finding]', { state: 'detached', timeout: 10_000 });
      const empty = await page.textContent('#findings li.empty');
      check(/passes/.test(empty || ''), `no "passes" message: ${empty}`);
    });

    await step('a misspelt field is a compile error at its line and column', async () => {
      const policy = await page.inputValue('#policy');
      const target = 'c.securityContext.privileged == true';
      const offset = policy.indexOf(target);
      check(offset >= 0, 'the default policy has no privileged check');
      const field = offset + 'c.securityContext.'.length;
      const typo = field + 'privileg'.length;
      // Delete the second `e`: `privileged` becomes `privilegd`.
      await select(page, '#policy', typo, typo);
      await page.keyboard.press('Delete');
      const edited = await page.inputValue('#policy');
      check(edited.includes('c.securityContext.privilegd == true'), 'the typo was not typed');
      const expected = lineColumn(edited, field);
      const error = await page.waitForSelector('#problems li.error[data-diagnostic]', { timeout: 10_000 });
      const { line, column, text } = await error.evaluate((item) => ({
        line: Number(item.dataset.line),
        column: Number(item.dataset.column),
        text: item.textContent,
      }));
      check(/privilegd/.test(text), `the error does not name the field: ${text}`);
      check(line === expected.line, `error at line ${line}, expected ${expected.line}: ${text}`);
      check(column === expected.column, `error at column ${column}, expected ${expected.column}: ${text}`);
      check(text.startsWith(`${line}:${column}`), `the list does not lead with line:column: ${text}`);
      check(
        await page.$(`#policy-editor pre .line.error[data-line="${line}"] .squiggle`),
        `policy line ${line} has no error marker`,
      );
      check(await page.$(`#policy-editor .gutter-lines div.error`), 'no gutter marker');
      // The marker sits under the misspelt field: compare it with the
      // highlighted copy of the character at the error's column.
      const offsets = await page.evaluate((wanted) => {
        const row = document.querySelector(`#policy-editor pre .line.error[data-line="${wanted.line}"]`);
        const squiggle = row.querySelector('.squiggle').getBoundingClientRect();
        const walker = document.createTreeWalker(row, NodeFilter.SHOW_TEXT);
        let seen = 0;
        for (let node; (node = walker.nextNode()); ) {
          if (node.parentElement.closest('.inline-message')) continue;
          if (seen + node.length >= wanted.column) {
            const range = document.createRange();
            range.setStart(node, wanted.column - 1 - seen);
            range.setEnd(node, wanted.column - seen);
            return { squiggle: squiggle.left, character: range.getBoundingClientRect().left };
          }
          seen += node.length;
        }
        return null;
      }, expected);
      check(offsets && Math.abs(offsets.squiggle - offsets.character) < 1, `marker misplaced: ${JSON.stringify(offsets)}`);
      const status = await page.textContent('#status');
      metrics.runAfterEditMs = Number(/in ([\d.]+) ms/.exec(status || '')?.[1]);
      await page.screenshot({ path: path.join(screenshotDirectory, 'rampart-playground-error.png') });
    });

    await step('a share link restores the policy and the manifest', async () => {
      const policy = await page.inputValue('#policy');
      const manifest = await page.inputValue('#manifest');
      await page.click('#share');
      await page.waitForFunction(() => location.hash.length > 3);
      const link = await page.evaluate(() => location.href);
      check(/#[zj]:[A-Za-z0-9_-]+$/.test(link), `unexpected link ${link}`);
      metrics.shareLinkLength = link.length;
      const other = await context.newPage();
      await other.goto(link);
      await other.waitForSelector('#problems li.error[data-diagnostic]', { timeout: 30_000 });
      check((await other.inputValue('#policy')) === policy, 'the policy was not restored');
      check((await other.inputValue('#manifest')) === manifest, 'the manifest was not restored');
      await other.close();
    });

    await step('the example picker loads another standard-library policy', async () => {
      await page.selectOption('#example', 'stdlib/best-practices/images.rampart');
      await page.waitForSelector('[data-finding="bp.latest-tag"]', { timeout: 10_000 });
      check(!(await page.$('#problems li.error')), 'the example does not compile');
    });

    await step('the configuration tab applies a rampart.yaml, and a share link carries it', async () => {
      await page.waitForSelector('li.deny[data-finding="bp.latest-tag"]', { timeout: 10_000 });
      await page.click('#config-tab');
      check(await page.isVisible('#config-editor'), 'the configuration editor is not shown');
      check(!(await page.isVisible('#manifest-editor')), 'the manifest editor is still shown');
      // An action turns the denial into a warning.
      await page.fill('#config', 'actions:\n  bp.latest-tag: warn\n');
      await page.waitForSelector('li.warn[data-finding="bp.latest-tag"]', { timeout: 10_000 });
      // A misspelt key is a problem at its line of rampart.yaml.
      await page.fill('#config', 'exeptions: []\n');
      await page.waitForSelector('[data-config-problem][data-line="1"]', { timeout: 10_000 });
      // An exception in force takes the finding out, and the page says so.
      const config = 'exceptions:\n  - policy: bp.*\n    reason: the images are pinned next sprint (OPS-9)\n    expires: 2999-12-31\n';
      await page.fill('#config', config);
      await page.waitForSelector('[data-finding="bp.latest-tag"]', { state: 'detached', timeout: 10_000 });
      check(!(await page.$('[data-finding^="bp."]')), 'a finding the exception covers is still shown');
      const judged = await page.textContent('#judged');
      check(/^by the configuration: [1-9]\d* suppressed$/.test(judged || ''), `the suppressed findings are not counted: ${judged}`);
      await page.screenshot({ path: path.join(screenshotDirectory, 'rampart-playground-config.png') });
      await page.click('#share');
      await page.waitForFunction(() => location.hash.length > 3);
      const link = await page.evaluate(() => location.href);
      const other = await context.newPage();
      await other.goto(link);
      await other.waitForFunction(() => document.body.dataset.ready === 'true', null, { timeout: 30_000 });
      check((await other.inputValue('#config')) === config, 'the configuration was not restored');
      check(await other.isVisible('#config-editor'), 'a shared configuration does not open its tab');
      check(!(await other.$('[data-finding="bp.latest-tag"]')), 'the shared configuration was not applied');
      await other.close();
      await page.click('#manifest-tab');
      check(await page.isVisible('#manifest-editor'), 'the manifest tab does not come back');
    });

    await step('the page raised no error', async () => {
      check(pageErrors.length === 0, pageErrors.join('\n'));
    });

    await step('page weight', async () => {
      let raw = 0;
      let gzip = 0;
      const sizes = [];
      for (const asset of ASSETS) {
        const response = await fetch(new URL(asset, url));
        check(response.ok, `${asset}: ${response.status}`);
        if (asset.endsWith('.wasm')) {
          check(response.headers.get('content-type') === 'application/wasm', `${asset} is served as ${response.headers.get('content-type')}`);
        }
        const bytes = Buffer.from(await response.arrayBuffer());
        const compressed = zlib.gzipSync(bytes, { level: 9 }).length;
        raw += bytes.length;
        gzip += compressed;
        sizes.push(`${asset} ${bytes.length} B (gzip ${compressed} B)`);
      }
      metrics.assets = sizes;
      metrics.rawBytes = raw;
      metrics.gzipBytes = gzip;
      check((await fetch(new URL('missing', url))).status === 404, 'a missing file is not 404');
    });
  } finally {
    await context.close().catch(() => {});
    server.child.kill();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }

  console.log(`metrics: ${JSON.stringify(metrics)}`);
  console.log(`screenshots: ${path.join(screenshotDirectory, 'rampart-playground-finding.png')}, ${path.join(screenshotDirectory, 'rampart-playground-error.png')}`);
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((error) => {
  console.log(`FAIL ${error.stack || error.message}`);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
