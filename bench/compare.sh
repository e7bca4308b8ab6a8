#!/usr/bin/env bash
# Rampart beside its peers on the Pod Security Standards workload of
# ../shared/bench/peers (gen-pods, regorus-bench, cel-bench): identical input,
# manifests/s end to end and evaluation-only, ratios, peak RSS, and agreement
# on the flagged manifests with gen-pods' ground truth. Not a test: nothing
# is asserted about time.
#
#   bench/compare.sh [N ...]            (default N: 2000 20000)
#
# env: REPS (3)   REPS_SMALL (11: for N up to 5,000, whose runs take tens of
#      milliseconds and move by several percent from one to the next)
#      SEED (42)   PEERS (../shared/bench/peers, relative to the repository)
#      RAMPART (a rampart binary; default: build target/release/rampart)
#      ENGINES (comma list; default every row, see bench/compare.py --help)
#
# Why `pss-restricted@v1.31`: the peers' Rego and CEL policies (and gen-pods'
# labels) encode the safe-sysctl list of Kubernetes 1.29-1.31; Kubernetes 1.32
# made net.ipv4.tcp_rmem/tcp_wmem safe, so at the newest version Rampart
# rightly passes manifests the peers flag (59 at N=20000).
#
# Generated data, peer builds and outputs go to bench/work/ (gitignored).
# Needs: cargo, python3, GNU time (/usr/bin/time -v); node + npm for cel-js
# (skipped without them); checkov only if on PATH (it is not installed here,
# and one run at N=20000 takes ~4-30 min, see the peers' README).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PEERS=${PEERS:-../shared/bench/peers}
WORK=bench/work
REPS=${REPS:-3}
REPS_SMALL=${REPS_SMALL:-11}
SEED=${SEED:-42}
Ns=("$@"); [ ${#Ns[@]} -eq 0 ] && Ns=(2000 20000)
mkdir -p "$WORK"

[ -x /usr/bin/time ] || { echo "GNU time is needed (apt-get install time)" >&2; exit 1; }

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2

if [ -z "${RAMPART:-}" ]; then
  echo "== build rampart (release)" >&2
  cargo build --release --quiet -p rampart
  RAMPART=$ROOT/target/release/rampart
fi

echo "== build regorus-bench" >&2
cargo build --release --quiet --manifest-path "$PEERS/regorus-bench/Cargo.toml" \
  --target-dir "$WORK/regorus-target"
REGORUS=$ROOT/$WORK/regorus-target/release/regorus-bench
"$REGORUS" selfcheck --policies "$PEERS/regorus-bench/policies" \
  --cases "$PEERS/regorus-bench/selfcheck/cases.json" | tail -1 >&2

CEL=""
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [ ! -d "$WORK/cel-bench/node_modules" ]; then
    echo "== cel-bench: copy and npm ci" >&2
    rm -rf "$WORK/cel-bench"
    cp -r "$PEERS/cel-bench" "$WORK/cel-bench"
    chmod -R u+w "$WORK/cel-bench"
    (cd "$WORK/cel-bench" && npm ci --no-audit --no-fund --silent)
  fi
  node "$WORK/cel-bench/bench.mjs" selfcheck --cases "$PEERS/regorus-bench/selfcheck/cases.json" | tail -1 >&2
  CEL=$ROOT/$WORK/cel-bench/bench.mjs
else
  echo "== node/npm not found: cel-js skipped" >&2
fi

CHECKOV=""
if command -v checkov >/dev/null; then
  CHECKOV=$(command -v checkov)
else
  echo "== checkov is not installed: skipped (see $PEERS/README.md for its numbers)" >&2
fi

for N in "${Ns[@]}"; do
  W=$WORK/n$N
  mkdir -p "$W"
  if [ ! -s "$W/pods.jsonl" ] || [ ! -s "$W/pods.yaml" ] || [ ! -s "$W/labels.jsonl" ] \
     || [ "$(cat "$W/seed" 2>/dev/null)" != "$SEED" ]; then
    echo "== generate N=$N seed=$SEED" >&2
    python3 "$PEERS/gen-pods" -n "$N" --seed "$SEED" --out-yaml "$W/pods.yaml" \
      --out-jsonl "$W/pods.jsonl" --labels "$W/labels.jsonl"
    echo "$SEED" > "$W/seed"
  fi
  reps=$REPS
  [ "$N" -le 5000 ] && reps=$REPS_SMALL
  python3 bench/compare.py --work "$W" --reps "$reps" --rampart "$RAMPART" \
    --regorus "$REGORUS" --regorus-policies "$PEERS/regorus-bench/policies" \
    --cel "$CEL" --checkov "$CHECKOV" ${ENGINES:+--engines "$ENGINES"}
done
