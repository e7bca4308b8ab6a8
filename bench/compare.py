#!/usr/bin/env python3
"""compare.py: runs Rampart and its peers on one gen-pods workload (called by compare.sh).

  compare.py --work DIR --rampart BIN --regorus BIN --regorus-policies DIR [--cel bench.mjs]
             [--checkov BIN] [--reps 3] [--engines a,b,...]

DIR holds pods.jsonl, pods.yaml and labels.jsonl from gen-pods. Every engine runs REPS
times under GNU `time -v` (peak RSS and CPU of the whole process: start-up, reading,
parsing, evaluation, report; the wall clock is measured around it to the microsecond),
in rounds (each round runs every engine once, in turn), so that a machine whose speed
drifts during the run affects every engine alike; the table shows medians. Evaluation-only seconds
come from each engine: regorus and cel-js print a RESULT line (their evaluation loop over
parsed input), Rampart prints its phases with RAMPART_TIMINGS=1 (evaluate = the
evaluator, judge = locating findings in the source; seconds summed over threads, so for
-jN the per-thread mean, sum/N, is what is compared with regorus' slowest thread).
Then, untimed: which manifests each engine flags, against gen-pods' labels.jsonl.
Not a test: nothing about time is asserted.
"""
import argparse
import collections
import json
import os
import re
import statistics
import subprocess
import sys
import time

# Rampart policy id -> gen-pods check id (labels.jsonl `expected`).
RAMPART_TO_LABEL = {
    "pss.baseline.hostProcess": "baseline.hostProcess",
    "pss.baseline.hostNamespaces": "baseline.hostNamespaces",
    "pss.baseline.privileged": "baseline.privileged",
    "pss.baseline.capabilities_baseline": "baseline.capabilities",
    "pss.baseline.hostPathVolumes": "baseline.hostPath",
    "pss.baseline.hostPorts": "baseline.hostPorts",
    "pss.baseline.appArmorProfile": "baseline.appArmor",
    "pss.baseline.seLinuxOptions": "baseline.seLinux",
    "pss.baseline.procMount": "baseline.procMount",
    "pss.baseline.seccompProfile_baseline": "baseline.seccomp",
    "pss.baseline.sysctls": "baseline.sysctls",
    "pss.restricted.restrictedVolumes": "restricted.volumeTypes",
    "pss.restricted.allowPrivilegeEscalation": "restricted.allowPrivilegeEscalation",
    "pss.restricted.runAsNonRoot": "restricted.runAsNonRoot",
    "pss.restricted.runAsUser": "restricted.runAsUser",
    "pss.restricted.seccompProfile_restricted": "restricted.seccomp",
    "pss.restricted.capabilities_restricted": "restricted.capabilities",
}

# gen-pods' baseline checks that a restricted check overrides in Pod Security
# Admission (`OverrideCheckIDs`), with the check that overrides each.
OVERRIDDEN = {
    "baseline.seccomp": "restricted.seccomp",
    "baseline.capabilities": "restricted.capabilities",
    "baseline.hostPath": "restricted.volumeTypes",
}


def run_timed(cmd, out_path, err_path, time_path, env=None):
    # The wall clock is taken here, to the microsecond: `time -v` reports it
    # in hundredths, which at N=2,000 (runs of 0.02-0.2 s) moved ratios by
    # a third. It includes starting `time` itself, the same for every engine.
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        rc = subprocess.call(["/usr/bin/time", "-v", "-o", time_path] + cmd, stdout=out, stderr=err,
                             env=env)
        wall = time.perf_counter() - start
    text = open(time_path).read()
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([0-9.]+)", text).group(1)) for kind in ("User", "System"))
    return rc, wall, rss, cpu


def result_line(path):
    for line in open(path):
        if line.startswith("RESULT "):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    return None


def rampart_timings(path):
    for line in open(path):
        if line.startswith("timings "):
            return {k: float(v) for k, v in re.findall(r"(\w+) ([0-9.]+)", line.split(":", 1)[1])}
    return None


def rampart_flagged(report_path):
    """Per manifest (namespace/name): the set of gen-pods check ids Rampart found."""
    report = json.load(open(report_path))
    checks = collections.defaultdict(set)
    unmapped = collections.Counter()
    for f in report["findings"]:
        r = f["resource"]
        label = RAMPART_TO_LABEL.get(f["policy"])
        if label is None:
            unmapped[f["policy"]] += 1
            continue
        checks[r.get("name")].add(label)
    return checks, unmapped, report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--rampart", required=True)
    ap.add_argument("--regorus", required=True)
    ap.add_argument("--regorus-policies", required=True)
    ap.add_argument("--cel", default="")
    ap.add_argument("--checkov", default="")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--set", default="pss-restricted@v1.31")
    ap.add_argument("--engines", default="rampart-j1,rampart-j2,rampart-yaml-j1,rampart-yaml-j2,"
                    "rampart-psa-j1,rampart-psa-j2,regorus-interp,regorus-interp-2t,regorus-rvm,regorus-rvm-stream,regorus-rvm-2t,cel-js,checkov")
    a = ap.parse_args()
    W = a.work
    jsonl = os.path.join(W, "pods.jsonl")
    yaml = os.path.join(W, "pods.yaml")
    n = sum(1 for line in open(jsonl) if line.strip())
    cores = os.cpu_count() or 1

    # The comparison rows run every check the peers run (`--no-overrides`):
    # at the restricted level, Pod Security Admission (and Rampart by
    # default) skips the baseline checks (three at 1.31) that restricted ones
    # override, which the peers' policies evaluate. The `rampart-psa-*` rows
    # are the default: upstream's semantics, less work.
    def rampart(path, jobs, tag, every_check=True):
        return {"cmd": [a.rampart, "check", "--set", a.set, path, "--format", "json",
                        "-o", os.path.join(W, f"out-{tag}.json"), "-j", str(jobs)]
                + (["--no-overrides"] if every_check else []),
                "kind": "rampart", "threads": jobs, "report": os.path.join(W, f"out-{tag}.json")}

    def regorus(mode, *extra):
        return {"cmd": [a.regorus, "bench", "--policies", a.regorus_policies, "--input", jsonl,
                        "--mode", mode, *extra], "kind": "result"}

    engines = {
        "rampart-j1": rampart(jsonl, 1, "rampart-j1"),
        "rampart-j2": rampart(jsonl, cores, "rampart-j2"),
        "rampart-yaml-j1": rampart(yaml, 1, "rampart-yaml-j1"),
        "rampart-yaml-j2": rampart(yaml, cores, "rampart-yaml-j2"),
        "rampart-psa-j1": rampart(jsonl, 1, "rampart-psa-j1", every_check=False),
        "rampart-psa-j2": rampart(jsonl, cores, "rampart-psa-j2", every_check=False),
        "regorus-interp": regorus("interp"),
        "regorus-interp-2t": regorus("interp", "--threads", str(cores)),
        "regorus-rvm": regorus("rvm"),
        "regorus-rvm-stream": regorus("rvm", "--stream", "1"),
        "regorus-rvm-2t": regorus("rvm", "--threads", str(cores)),
        "cel-js": {"cmd": ["node", a.cel, "bench", "--input", jsonl], "kind": "result"} if a.cel else None,
        "checkov": {"cmd": [a.checkov, "--framework", "kubernetes", "-f", yaml, "--skip-download",
                            "-o", "json", "--quiet"], "kind": "checkov"} if a.checkov else None,
    }
    env = dict(os.environ, RAMPART_TIMINGS="1")
    names = []
    for name in a.engines.split(","):
        if engines.get(name):
            names.append(name)
        else:
            print(f"[skip] {name}: not available", file=sys.stderr)
    measured = {name: {"walls": [], "rsss": [], "evals": [], "judges": [], "parses": [], "cpus": [], "info": {}}
                for name in names}
    for rep in range(a.reps):
        for name in names:
            spec = engines[name]
            m = measured[name]
            walls, rsss, evals, judges, parses, cpus = (m["walls"], m["rsss"], m["evals"], m["judges"],
                                                        m["parses"], m["cpus"])
            base = os.path.join(W, f"{name}-rep{rep + 1}")
            rc, wall, rss, cpu = run_timed(spec["cmd"], base + ".out", base + ".err", base + ".time", env)
            if spec["kind"] == "rampart":
                if rc not in (0, 1):
                    sys.exit(f"{name} failed rc={rc}; see {base}.err")
                t = rampart_timings(base + ".err") or {}
                threads = spec["threads"]
                evals.append(t.get("evaluate", 0.0) / threads)
                judges.append(t.get("judge", 0.0) / threads)
                parses.append(t.get("parse", 0.0) / threads)
                m["info"] = {"version": "dev"}
            elif spec["kind"] == "result":
                if rc != 0:
                    sys.exit(f"{name} failed rc={rc}; see {base}.err")
                m["info"] = result_line(base + ".out")
                evals.append(float(m["info"]["eval_s"]))
                parses.append(float(m["info"].get("parse_s", "nan")))
            walls.append(wall)
            rsss.append(rss)
            cpus.append(cpu)
            print(f"  {name:<20} rep {rep + 1}/{a.reps}: wall {wall:.3f}s rss {rss / 1024:.0f}MiB", file=sys.stderr)
    rows = {}
    for name in names:
        spec = engines[name]
        m = measured[name]
        walls, rsss, evals, judges, parses, cpus, info = (m["walls"], m["rsss"], m["evals"], m["judges"],
                                                          m["parses"], m["cpus"], m["info"])
        rows[name] = {
            "wall": statistics.median(walls), "rss": statistics.median(rsss) / 1024, "cpu": statistics.median(cpus),
            "eval": statistics.median(evals) if evals else None,
            "judge": statistics.median(judges) if judges else None,
            "parse": statistics.median(parses) if parses else None,
            "walls": walls, "info": info, "spec": spec,
        }

    load = open("/proc/loadavg").read().split()[:3]
    print(f"\n# N={n}, median of {a.reps} runs; wall = whole process, timed around time -v (cpu_s: its user + system seconds); eval = evaluation only "
          f"(Rampart: evaluator, per thread); load average at the end {' '.join(load)}")
    print(f"{'engine':<20} {'wall_s':>7} {'manif/s':>8} {'cpu_s':>6} {'parse_s':>7} {'eval_s':>7} {'eval/s':>8} {'judge_s':>7} {'peakRSS':>8}  walls")
    for name, r in rows.items():
        ev = f"{r['eval']:.4f}" if r["eval"] else "-"
        evs = f"{n / r['eval']:.0f}" if r["eval"] else "-"
        pa = f"{r['parse']:.4f}" if r["parse"] is not None and r["parse"] == r["parse"] else "-"
        ju = f"{r['judge']:.4f}" if r["judge"] is not None else "-"
        print(f"{name:<20} {r['wall']:>7.3f} {n / r['wall']:>8.0f} {r['cpu']:>6.2f} {pa:>7} {ev:>7} {evs:>8} {ju:>7} {r['rss']:>6.0f}Mi  "
              + ",".join(f"{w:.3f}" for w in r["walls"]))

    # Ratios: Rampart's manifests/s over each peer's (> 1: Rampart is faster).
    print("\n# ratios (Rampart manifests/s / peer manifests/s): end to end, evaluation only")
    pairs = [("rampart-j1", p) for p in ("regorus-interp", "regorus-rvm", "regorus-rvm-stream", "cel-js")]
    pairs += [("rampart-j2", p) for p in ("regorus-interp-2t", "regorus-rvm-2t", "cel-js")]
    pairs += [("rampart-psa-j1", "regorus-rvm-stream"), ("rampart-psa-j2", "regorus-rvm-2t")]
    for mine, peer in pairs:
        if mine in rows and peer in rows:
            m, p = rows[mine], rows[peer]
            e2e = p["wall"] / m["wall"]
            ev = (p["eval"] / m["eval"]) if (m["eval"] and p["eval"]) else None
            print(f"{mine:<14} vs {peer:<20} end to end {e2e:6.2f}x   eval {'-' if ev is None else f'{ev:6.2f}x'}")
    singles = [rows[p] for p in ("regorus-interp", "regorus-rvm", "regorus-rvm-stream") if p in rows]
    if "rampart-j1" in rows and singles:
        best_eval = min(r["eval"] for r in singles)
        best_wall = min(r["wall"] for r in singles)
        m = rows["rampart-j1"]
        print(f"targets at one thread vs the fastest regorus mode: eval {best_eval / m['eval']:.2f}x (aim >= 10x), "
              f"end to end {best_wall / m['wall']:.2f}x (aim >= 5x)")

    # Agreement (untimed): manifests flagged, against gen-pods' labels.
    print("\n# flagged manifests vs gen-pods labels.jsonl")
    labels = {}
    for line in open(os.path.join(W, "labels.jsonl")):
        if line.strip():
            o = json.loads(line)
            labels[o["name"]] = set(o["expected"])
    truth = {k for k, v in labels.items() if v}
    print(f"ground truth: {len(truth)} of {len(labels)} manifests violate PSS restricted")
    for name in ("rampart-j1", "rampart-yaml-j1", "rampart-j2", "rampart-psa-j1"):
        if name not in rows:
            continue
        checks, unmapped, report = rampart_flagged(rows[name]["spec"]["report"])
        flagged = {k for k, v in checks.items() if v}
        # With upstream's overrides a baseline check is not reported where
        # the restricted check that overrides it is (and it is implied).
        expected = labels if name != "rampart-psa-j1" else {
            k: {c for c in v if not (c in OVERRIDDEN and OVERRIDDEN[c] in v)} for k, v in labels.items()}
        exact = sum(1 for k in labels if checks.get(k, set()) == expected[k])
        print(f"{name}: flagged {len(flagged)}; flagged-or-not agrees on {len(labels) - len(flagged ^ truth)}/{len(labels)}; "
              f"per-manifest check set == labels on {exact}/{len(labels)}; findings {len(report['findings'])}; "
              f"errors {len(report['errors'])}")
        for policy, count in unmapped.items():
            print(f"   unmapped policy {policy}: {count} findings")
        for k in sorted(k for k in labels if checks.get(k, set()) != expected[k])[:10]:
            print(f"   DIFF {k}: labels={sorted(expected[k])} rampart={sorted(checks.get(k, set()))}")
    for name in ("regorus-rvm", "cel-js"):
        spec = engines.get(name)
        if not spec or name not in rows:
            continue
        out = os.path.join(W, f"{name}-results.jsonl")
        subprocess.check_call(spec["cmd"] + ["--results", out], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        got = {}
        for line in open(out):
            if line.strip():
                o = json.loads(line)
                got[o["name"]] = set(o.get("checks", []))
        flagged = {k for k, v in got.items() if v}
        print(f"{name}: flagged {len(flagged)}; flagged-or-not agrees on {len(labels) - len(flagged ^ truth)}/{len(labels)}; "
              f"RESULT flagged={rows[name]['info'].get('flagged')}")


if __name__ == "__main__":
    main()
