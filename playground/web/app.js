// The Rampart playground: two editors, and the compiler and evaluator
// (rampart_playground.wasm, built from playground/wasm) run in this page on
// every change. Nothing is sent to a server.

const MODULE_URL = 'rampart_playground.wasm';
// Typing pauses shorter than this do not start a run.
const DEBOUNCE_MS = 120;

const KEYWORDS = new Set([
  'policy', 'fn', 'test', 'let', 'for', 'in', 'if', 'then', 'else', 'deny', 'warn', 'and', 'or', 'not',
  'at', 'message', 'fix', 'match', 'param', 'given', 'expect', 'remove', 'title', 'severity', 'controls',
  'remediation', 'since', 'until', 'overrides', 'pods', 'kinds', 'all', 'any', 'namespaces', 'labels', 'exclude',
  'allow', 'file', 'yaml', 'version',
]);
const CONSTANTS = new Set(['true', 'false', 'null', 'info', 'low', 'medium', 'high', 'critical']);
// Comments, strings, numbers, words; whatever lies between is punctuation.
const RAMPART_TOKEN =
  /(\/\/\/[^\n]*)|(\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|(r"[^"]*"?|"""[\s\S]*?(?:"""|$)|"(?:\\.|[^"\\\n])*"?)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---------------------------------------------------------------- engine

/** The WebAssembly engine: one instance, rebuilt if a call traps. */
class Engine {
  static async load() {
    let module;
    try {
      module = await WebAssembly.compileStreaming(fetch(MODULE_URL));
    } catch {
      // Static hosts that serve .wasm without `application/wasm`.
      const response = await fetch(MODULE_URL);
      if (!response.ok) throw new Error(`cannot fetch ${MODULE_URL}: ${response.status}`);
      module = await WebAssembly.compile(await response.arrayBuffer());
    }
    const engine = new Engine(module);
    await engine.instantiate();
    return engine;
  }

  constructor(module) {
    this.module = module;
    this.exports = null;
  }

  async instantiate() {
    // The module imports nothing.
    const instance = await WebAssembly.instantiate(this.module, {});
    this.exports = instance.exports;
  }

  /** Calls an export that takes UTF-8 text (or nothing) and returns JSON. */
  call(name, text) {
    const exports = this.exports;
    let packed;
    if (text === undefined) {
      packed = exports[name]();
    } else {
      const bytes = encoder.encode(text);
      const address = bytes.length ? exports.playground_alloc(bytes.length) : 0;
      if (bytes.length && !address) throw new Error('the engine is out of memory');
      new Uint8Array(exports.memory.buffer, address, bytes.length).set(bytes);
      try {
        packed = exports[name](address, bytes.length);
      } finally {
        exports.playground_free(address, bytes.length);
      }
    }
    // i64 results arrive as BigInt: address in the high half, length in the low.
    const address = Number(BigInt.asUintN(64, packed) >> 32n);
    const length = Number(BigInt.asUintN(64, packed) & 0xffffffffn);
    if (!address) throw new Error('the engine is out of memory');
    const json = decoder.decode(new Uint8Array(exports.memory.buffer, address, length));
    exports.playground_free(address, length);
    return JSON.parse(json);
  }

  /** Runs, and after a trap (a bug in the engine) starts a fresh instance. */
  async safeCall(name, text) {
    try {
      return this.call(name, text);
    } catch (error) {
      if (error instanceof WebAssembly.RuntimeError) await this.instantiate();
      throw error;
    }
  }
}

// ---------------------------------------------------------------- highlighting

function escapeHtml(text) {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Splits classed segments into lines of HTML (tokens may span lines). */
function segmentsToLines(segments) {
  const lines = [''];
  for (const [cls, text] of segments) {
    const parts = text.split('\n');
    parts.forEach((part, index) => {
      if (index > 0) lines.push('');
      if (!part) return;
      const html = escapeHtml(part);
      lines[lines.length - 1] += cls ? `<span class="${cls}">${html}</span>` : html;
    });
  }
  return lines;
}

/** Rampart source to lines of highlighted HTML. */
export function highlightRampart(text) {
  const segments = [];
  let last = 0;
  RAMPART_TOKEN.lastIndex = 0;
  for (let match; (match = RAMPART_TOKEN.exec(text)); ) {
    if (match.index > last) segments.push(['', text.slice(last, match.index)]);
    const [token, doc, comment, string, number, word] = match;
    if (doc) segments.push(['tok-doc', token]);
    else if (comment) segments.push(['tok-comment', token]);
    else if (string) pushString(segments, token);
    else if (number) segments.push(['tok-number', token]);
    else if (word) {
      const rest = text.slice(RAMPART_TOKEN.lastIndex);
      let cls = '';
      if (KEYWORDS.has(word)) cls = 'tok-keyword';
      else if (CONSTANTS.has(word)) cls = 'tok-constant';
      else if (/^\s*\(/.test(rest)) cls = 'tok-function';
      segments.push([cls, token]);
    }
    last = RAMPART_TOKEN.lastIndex;
  }
  if (last < text.length) segments.push(['', text.slice(last)]);
  return segmentsToLines(segments);
}

/** A string literal, with message-template `{...}` parts set apart. */
function pushString(segments, token) {
  if (token.startsWith('r"')) {
    segments.push(['tok-string', token]);
    return;
  }
  let last = 0;
  const interpolation = /\\.|\{[^{}"\n]*\}/g;
  for (let match; (match = interpolation.exec(token)); ) {
    if (match[0].startsWith('\\')) continue;
    if (match.index > last) segments.push(['tok-string', token.slice(last, match.index)]);
    segments.push(['tok-interpolation', match[0]]);
    last = interpolation.lastIndex;
  }
  if (last < token.length) segments.push(['tok-string', token.slice(last)]);
}

/** YAML to lines of highlighted HTML: keys, comments, quoted strings, separators. */
export function highlightYaml(text) {
  return text.split('\n').map((line) => {
    if (/^(---|\.\.\.)\s*$/.test(line)) return `<span class="tok-separator">${escapeHtml(line)}</span>`;
    const segments = [];
    let rest = line;
    const key = /^(\s*(?:-\s+)*)([^\s#'"{[\]},:][^#:]*?|"[^"]*"|'[^']*')(\s*:)(?=\s|$)/.exec(rest);
    if (key) {
      segments.push(['', key[1]], ['tok-key', key[2]], ['', key[3]]);
      rest = rest.slice(key[0].length);
    }
    const comment = /(^|\s)#.*$/.exec(rest);
    let value = rest;
    let trailing = '';
    if (comment && !/["']/.test(rest.slice(0, comment.index))) {
      value = rest.slice(0, comment.index + comment[1].length);
      trailing = rest.slice(comment.index + comment[1].length);
    }
    const scalar = /^(\s*(?:-\s+)*)(.*?)(\s*)$/.exec(value);
    segments.push(['', scalar[1]]);
    const body = scalar[2];
    if (/^["'].*["']$/.test(body)) segments.push(['tok-string', body]);
    else if (/^(true|false|null|~|-?\d+(\.\d+)?)$/.test(body)) segments.push(['tok-constant', body]);
    else segments.push(['', body]);
    segments.push(['', scalar[3]]);
    if (trailing) segments.push(['tok-comment', trailing]);
    return segmentsToLines(segments)[0];
  });
}

// ---------------------------------------------------------------- editor

/** A textarea with a highlighted copy of its text behind it, and line marks. */
class Editor {
  constructor(root, highlight) {
    this.root = root;
    this.highlight = highlight;
    this.textarea = root.querySelector('textarea');
    this.pre = root.querySelector('pre.highlight');
    this.gutter = root.querySelector('.gutter-lines');
    // line number -> {kind, message, start, end} (the worst mark of the line)
    this.marks = new Map();
    this.onChange = () => {};
    this.textarea.addEventListener('input', () => {
      this.render();
      this.onChange();
    });
    this.textarea.addEventListener('scroll', () => this.syncScroll());
    this.textarea.addEventListener('keydown', (event) => this.keydown(event));
  }

  get value() {
    return this.textarea.value;
  }

  set value(text) {
    this.textarea.value = text;
    this.marks.clear();
    this.render();
  }

  /** Sets the marks: `[{line, column, endLine, endColumn, kind, message}]`. */
  setMarks(marks) {
    const rank = { error: 3, finding: 2, warning: 1 };
    this.marks = new Map();
    for (const mark of marks) {
      if (!mark.line) continue;
      const present = this.marks.get(mark.line);
      if (!present || rank[mark.kind] > rank[present.kind]) this.marks.set(mark.line, mark);
    }
    this.render();
  }

  render() {
    const lines = this.highlight(this.textarea.value);
    const rawLines = this.textarea.value.split('\n');
    let code = '';
    let gutter = '';
    lines.forEach((html, index) => {
      const number = index + 1;
      const mark = this.marks.get(number);
      if (!mark) {
        code += `<div class="line" data-line="${number}">${html}</div>`;
        gutter += `<div>${number}</div>`;
        return;
      }
      const length = (rawLines[index] || '').length;
      const start = Math.max(1, Math.min(mark.column || 1, length + 1));
      let end = mark.endLine === mark.line && mark.endColumn > start ? mark.endColumn : length + 1;
      if (end <= start) end = start + 1;
      const squiggle = `<span class="squiggle" style="left:${start - 1}ch;width:${end - start}ch"></span>`;
      const message = `<span class="inline-message" style="left:${length + 3}ch">${escapeHtml(mark.message)}</span>`;
      code += `<div class="line ${mark.kind}" data-line="${number}" data-mark="${mark.kind}">${html}${squiggle}${message}</div>`;
      gutter += `<div class="${mark.kind}" title="${escapeHtml(mark.message)}">${number}</div>`;
    });
    this.pre.innerHTML = code;
    this.gutter.innerHTML = gutter;
    this.syncScroll();
  }

  syncScroll() {
    const { scrollLeft, scrollTop } = this.textarea;
    this.pre.style.transform = `translate(${-scrollLeft}px, ${-scrollTop}px)`;
    this.gutter.style.transform = `translateY(${-scrollTop}px)`;
  }

  /** Tab indents by two spaces instead of leaving the editor (Escape, then Tab, leaves). */
  keydown(event) {
    if (event.key === 'Escape') {
      this.tabLeaves = true;
      return;
    }
    if (event.key !== 'Tab' || event.shiftKey || this.tabLeaves) {
      this.tabLeaves = false;
      return;
    }
    event.preventDefault();
    document.execCommand('insertText', false, '  ');
  }

  /** Puts the cursor at a line and column and scrolls it into view. */
  reveal(line, column) {
    const lines = this.textarea.value.split('\n');
    let offset = 0;
    for (let index = 0; index < line - 1 && index < lines.length; index += 1) offset += lines[index].length + 1;
    offset += Math.max(0, (column || 1) - 1);
    this.textarea.focus();
    this.textarea.setSelectionRange(offset, offset);
    const lineHeight = parseFloat(getComputedStyle(this.textarea).lineHeight) || 20;
    const top = (line - 1) * lineHeight;
    if (top < this.textarea.scrollTop || top > this.textarea.scrollTop + this.textarea.clientHeight - 2 * lineHeight) {
      this.textarea.scrollTop = Math.max(0, top - this.textarea.clientHeight / 3);
    }
  }
}

// ---------------------------------------------------------------- sharing

function toBase64Url(bytes) {
  let binary = '';
  for (let index = 0; index < bytes.length; index += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(index, index + 0x8000));
  }
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}

async function transform(bytes, stream) {
  return new Uint8Array(await new Response(new Blob([bytes]).stream().pipeThrough(stream)).arrayBuffer());
}

/**
 * The fragment for a policy and a manifest: `#z:` and base64url of the
 * raw-deflated UTF-8 JSON where the browser can compress, `#j:` and base64url
 * of the JSON itself where it cannot.
 */
export async function encodeShare(policy, manifest, config = '') {
  // A link without a configuration stays as short as before it existed.
  const state = config ? { policy, manifest, config } : { policy, manifest };
  const json = encoder.encode(JSON.stringify(state));
  if (typeof CompressionStream === 'function') {
    return `z:${toBase64Url(await transform(json, new CompressionStream('deflate-raw')))}`;
  }
  return `j:${toBase64Url(json)}`;
}

/**
 * The policy, manifest and configuration (`''` in links made before the
 * configuration tab) of a fragment made by `encodeShare`, or null.
 */
export async function decodeShare(fragment) {
  const match = /^#?([zj]):([A-Za-z0-9_-]*)$/.exec(fragment);
  if (!match) return null;
  let bytes = fromBase64Url(match[2]);
  if (match[1] === 'z') bytes = await transform(bytes, new DecompressionStream('deflate-raw'));
  const state = JSON.parse(decoder.decode(bytes));
  if (typeof state.policy !== 'string' || typeof state.manifest !== 'string') return null;
  if (state.config !== undefined && typeof state.config !== 'string') return null;
  return { policy: state.policy, manifest: state.manifest, config: state.config ?? '' };
}

// ---------------------------------------------------------------- results

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null) continue;
    if (name === 'class') node.className = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function fill(list, items, empty) {
  list.replaceChildren(...(items.length ? items : [element('li', { class: 'empty' }, empty)]));
}

const where = (line, column) => (line ? `${line}:${column || 1}` : '');

function renderResults(result, editors, elapsed) {
  const problems = [];
  const policyMarks = [];
  for (const diagnostic of result.diagnostics) {
    const { start, end } = diagnostic;
    const item = element(
      'li',
      { class: diagnostic.level, 'data-diagnostic': diagnostic.code, 'data-line': start.line, 'data-column': start.column },
      element('span', { class: 'where' }, where(start.line, start.column)),
      diagnostic.message,
      element('span', { class: 'code-name' }, diagnostic.code),
      diagnostic.help && element('span', { class: 'detail' }, diagnostic.help),
    );
    item.addEventListener('click', () => editors.policy.reveal(start.line, start.column));
    problems.push(item);
    policyMarks.push({
      line: start.line,
      column: start.column,
      endLine: end.line,
      endColumn: end.column,
      kind: diagnostic.level === 'error' ? 'error' : 'warning',
      message: diagnostic.message,
    });
  }
  const manifestMarks = [];
  for (const error of result.errors) {
    const item = element(
      'li',
      { class: 'error', 'data-manifest-error': '', 'data-line': error.line },
      element('span', { class: 'where' }, error.line ? `manifest ${where(error.line, error.column)}` : 'manifest'),
      error.message,
    );
    if (error.line) item.addEventListener('click', () => editors.manifest.reveal(error.line, error.column));
    problems.push(item);
    manifestMarks.push({ line: error.line, column: error.column, kind: 'error', message: error.message });
  }
  const configMarks = [];
  for (const problem of result.config ?? []) {
    const item = element(
      'li',
      { class: 'error', 'data-config-problem': '', 'data-line': problem.line },
      element('span', { class: 'where' }, problem.line ? `rampart.yaml ${where(problem.line, problem.column)}` : 'rampart.yaml'),
      problem.message,
    );
    item.addEventListener('click', () => {
      editors.showTab('config');
      if (problem.line) editors.config.reveal(problem.line, problem.column);
    });
    problems.push(item);
    if (problem.line) configMarks.push({ line: problem.line, column: problem.column, kind: 'error', message: problem.message });
  }
  fill(document.getElementById('problems'), problems, 'No problems: the policy compiles.');
  document.getElementById('problem-count').textContent = problems.length || '';

  const findings = result.findings.map((finding) => {
    const item = element(
      'li',
      {
        class: finding.action,
        'data-finding': finding.policy,
        'data-line': finding.line,
        'data-column': finding.column,
        'data-path': finding.path,
      },
      element('span', { class: `badge ${finding.action}` }, finding.action),
      element('span', { class: 'severity' }, finding.severity),
      element('span', { class: 'policy-id' }, finding.policy),
      element('span', { class: 'detail' }, finding.message),
      element('span', { class: 'detail' }, `${finding.resource} · line ${where(finding.line, finding.column)} · ${finding.path || '/'}`),
    );
    if (finding.line) item.addEventListener('click', () => editors.manifest.reveal(finding.line, finding.column));
    manifestMarks.push({ line: finding.line, column: finding.column, kind: 'finding', message: finding.message });
    return item;
  });
  const compiles = !result.diagnostics.some((diagnostic) => diagnostic.level === 'error');
  fill(
    document.getElementById('findings'),
    findings,
    compiles ? 'No findings: the manifest passes.' : 'Fix the policy to see findings.',
  );
  document.getElementById('finding-count').textContent = findings.length || '';

  const tests = result.tests.map((test) => {
    const item = element(
      'li',
      { 'data-test': test.name, 'data-passed': String(test.passed), 'data-line': test.line },
      element('span', { class: `badge ${test.passed ? 'pass' : 'fail'}` }, test.passed ? 'pass' : 'fail'),
      test.name,
      element('span', { class: 'where' }, ` line ${test.line}`),
      ...test.failures.map((failure) => element('span', { class: 'detail' }, failure)),
    );
    item.addEventListener('click', () => editors.policy.reveal(test.line, 1));
    return item;
  });
  fill(document.getElementById('tests'), tests, 'No tests: add a `test` block to the policy.');
  const passed = result.tests.filter((test) => test.passed).length;
  document.getElementById('test-count').textContent = tests.length ? `${passed}/${tests.length}` : '';

  editors.policy.setMarks(policyMarks);
  editors.manifest.setMarks(manifestMarks);
  editors.config.setMarks(configMarks);
  // What the configuration took out of the findings, so that a missing
  // finding is explained.
  const judged = [];
  if (result.suppressed) judged.push(`${result.suppressed} suppressed`);
  if (result.exempted) judged.push(`${result.exempted} exempt`);
  const summary = document.getElementById('judged');
  summary.textContent = judged.length ? `by the configuration: ${judged.join(', ')}` : '';
  setStatus(`Compiled and ran in ${elapsed.toFixed(1)} ms, in your browser`);
}

function setStatus(text, failed = false) {
  const status = document.getElementById('status');
  status.textContent = text;
  status.classList.toggle('failed', failed);
}

// ---------------------------------------------------------------- the page

async function main() {
  const editors = {
    policy: new Editor(document.getElementById('policy-editor'), highlightRampart),
    manifest: new Editor(document.getElementById('manifest-editor'), highlightYaml),
    config: new Editor(document.getElementById('config-editor'), highlightYaml),
    showTab(name) {
      for (const tab of ['manifest', 'config']) {
        const selected = tab === name;
        document.getElementById(`${tab}-tab`).setAttribute('aria-selected', String(selected));
        document.getElementById(`${tab}-panel`).hidden = !selected;
      }
    },
  };
  for (const tab of ['manifest', 'config']) {
    document.getElementById(`${tab}-tab`).addEventListener('click', () => editors.showTab(tab));
  }
  let engine;
  try {
    engine = await Engine.load();
  } catch (error) {
    setStatus(`The engine did not load: ${error.message}`, true);
    throw error;
  }
  performance.mark('rampart-engine-ready');

  let firstResult = true;
  let timer = 0;
  const run = async () => {
    clearTimeout(timer);
    const started = performance.now();
    let result;
    try {
      result = await engine.safeCall(
        'playground_run',
        JSON.stringify({
          policy: editors.policy.value,
          manifest: editors.manifest.value,
          config: editors.config.value,
          // Exceptions expire against the reader's own date (UTC).
          today: new Date().toISOString().slice(0, 10),
        }),
      );
    } catch (error) {
      setStatus(`The engine failed: ${error.message}`, true);
      return;
    }
    renderResults(result, editors, performance.now() - started);
    if (firstResult) {
      firstResult = false;
      performance.mark('rampart-first-result');
      document.body.dataset.ready = 'true';
    }
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(run, DEBOUNCE_MS);
  };
  editors.policy.onChange = schedule;
  editors.manifest.onChange = schedule;
  editors.config.onChange = schedule;

  const picker = document.getElementById('example');
  const { default: defaultExample, examples } = engine.call('playground_examples');
  for (const example of examples) {
    const label = example.name.replace(/^stdlib\//, '').replace(/\.rampart$/, '');
    const policies = example.policies.length === 1 ? example.policies[0] : `${example.policies.length} policies`;
    picker.append(element('option', { value: example.name }, `${label} (${policies})`));
  }
  const custom = element('option', { value: '', disabled: '' }, 'Your own policy');
  picker.prepend(custom);
  const loadExample = (name) => {
    const example = engine.call('playground_example', name);
    if (example.error) {
      setStatus(example.error, true);
      return;
    }
    picker.value = example.name;
    editors.policy.value = example.policy;
    editors.manifest.value = example.manifest;
    run();
  };
  picker.addEventListener('change', () => loadExample(picker.value));

  const restore = async () => {
    let shared = null;
    try {
      shared = await decodeShare(location.hash);
    } catch {
      setStatus('The link is damaged: showing the default example', true);
    }
    if (!shared) return false;
    picker.value = '';
    editors.policy.value = shared.policy;
    editors.manifest.value = shared.manifest;
    editors.config.value = shared.config;
    if (shared.config) editors.showTab('config');
    await run();
    return true;
  };
  window.addEventListener('hashchange', restore);
  if (!(await restore())) loadExample(defaultExample);

  document.getElementById('share').addEventListener('click', async () => {
    const fragment = await encodeShare(editors.policy.value, editors.manifest.value, editors.config.value);
    history.replaceState(null, '', `#${fragment}`);
    const link = document.getElementById('share-link');
    link.value = location.href;
    link.hidden = false;
    link.select();
    try {
      await navigator.clipboard.writeText(location.href);
      setStatus(`Link copied (${location.href.length} characters)`);
    } catch {
      // Clipboard access needs a secure context or a permission: the link is selected instead.
      setStatus('Copy the selected link');
    }
  });
  // Typing after sharing makes the old link stale: say so by dropping it.
  const dropLink = () => {
    document.getElementById('share-link').hidden = true;
    if (location.hash) history.replaceState(null, '', location.pathname + location.search);
  };
  editors.policy.textarea.addEventListener('input', dropLink);
  editors.manifest.textarea.addEventListener('input', dropLink);
  editors.config.textarea.addEventListener('input', dropLink);
}

main();
