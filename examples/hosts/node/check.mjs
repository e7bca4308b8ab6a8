// Runs a Rampart bundle (from `rampart build`) on a manifest with Node's
// plain WebAssembly API: no npm packages, no WASI.
//
//   node check.mjs policies.wasm manifest.json [YYYY-MM-DD]
//
// The date (default: today, UTC) is the day the exceptions of the
// configuration built into the bundle expire against: the bundle has no
// clock, its host passes the date.
// The manifest is JSON: one object, a `kind: List`, or an AdmissionReview.
// Prints {"findings": [...]} and exits 1 when a finding denies.
// The ABI is described in docs/wasm-abi.md.

import { readFileSync } from "node:fs";

const ABI_VERSION = 2;

const [bundlePath, manifestPath, day = new Date().toISOString().slice(0, 10)] = process.argv.slice(2);
if (!bundlePath || !manifestPath || !/^\d{4}-\d{2}-\d{2}$/.test(day)) {
  console.error("usage: node check.mjs BUNDLE.wasm MANIFEST.json [YYYY-MM-DD]");
  process.exit(2);
}
// The ABI passes the date as the number YYYYMMDD.
const today = Number(day.replaceAll("-", ""));

const { instance } = await WebAssembly.instantiate(readFileSync(bundlePath), {});
const abi = instance.exports;
if (abi.rampart_abi_version() !== ABI_VERSION) {
  console.error(`the bundle speaks ABI version ${abi.rampart_abi_version()}, this host ${ABI_VERSION}`);
  process.exit(2);
}

// Results come back as one i64 (a BigInt in JavaScript): address << 32 | length.
function takeJson(packed) {
  if (packed === 0n) throw new Error("the bundle could not allocate its answer");
  const address = Number(BigInt.asUintN(64, packed) >> 32n);
  const length = Number(BigInt.asUintN(32, packed));
  const bytes = new Uint8Array(abi.memory.buffer, address, length).slice();
  abi.rampart_free(address, length);
  return JSON.parse(new TextDecoder().decode(bytes));
}

function evaluate(text) {
  const input = new TextEncoder().encode(text);
  const address = abi.rampart_alloc(input.length);
  if (address === 0) throw new Error("the bundle could not allocate the input");
  // Take the view after allocating: allocation may grow (and detach) memory.
  new Uint8Array(abi.memory.buffer, address, input.length).set(input);
  const result = takeJson(abi.rampart_evaluate(address, input.length, today));
  abi.rampart_free(address, input.length);
  return result;
}

const result = evaluate(readFileSync(manifestPath, "utf8"));
for (const error of result.errors) {
  console.error(`error: ${error.policy ? `policy ${error.policy}: ` : ""}${error.message}`);
}
const findings = result.findings.map(({ policy, path, message, action, controls }) => ({
  policy, path, message, action, controls,
}));
console.log(JSON.stringify({ findings }, null, 2));
process.exit(findings.some((finding) => finding.action === "deny") ? 1 : result.errors.length ? 2 : 0);
