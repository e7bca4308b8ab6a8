#!/usr/bin/env python3
"""Load generator for `rampart serve` on loopback (Python standard library only).

Starts the server (unless --url is given) with the `recommended` set and a
throwaway certificate from deploy/gen-certs.sh, then sends AdmissionReview
requests to POST /validate at rising request rates, open-loop: requests are
scheduled at fixed intervals and latency is measured from the scheduled time,
so a server that falls behind shows it in the tail (no coordinated omission).
Each step is bounded in time; the run stops by itself.

    python3 bench/webhook-load/load.py --binary target/release/rampart
    python3 bench/webhook-load/load.py --binary target/release/examples/standalone
    python3 bench/webhook-load/load.py --rates 100,500,1000 --seconds 5
    python3 bench/webhook-load/load.py --containers 1000 --rates 100,400 --audit-log audit.jsonl

`--containers N` sends denied Pods of N containers each (1,000 make a body of
about 100 KB and several thousand findings) instead of the small Deployments.

Only ever talks to 127.0.0.1.
"""

import argparse
import http.client
import json
import os
import queue
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def review(uid, compliant):
    """A Deployment CREATE: compliant (allowed) or with the usual omissions (denied)."""
    container = {"name": "app", "image": "registry.example.com/shop/web:1.4.2"}
    if compliant:
        container.update({
            "securityContext": {
                "runAsNonRoot": True, "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]}, "seccompProfile": {"type": "RuntimeDefault"},
            },
            "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                          "limits": {"cpu": "1", "memory": "256Mi"}},
            "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
            "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080}},
        })
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"automountServiceAccountToken": False, "containers": [container]}}},
    }
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": uid, "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
                    "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
                    "namespace": "shop", "operation": "CREATE", "userInfo": {"username": "load"},
                    "object": deployment, "dryRun": False},
    }).encode()


def crowded_review(uid, containers):
    """A Pod CREATE with `containers` containers that omit everything (denied, thousands of findings)."""
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "crowded", "namespace": "shop"},
        "spec": {"containers": [{"name": f"app-{index}", "image": "registry.example.com/shop/web:1.4.2",
                                 "ports": [{"containerPort": 8080, "protocol": "TCP"}]}
                                for index in range(containers)]},
    }
    return json.dumps({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {"uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
                    "resource": {"group": "", "version": "v1", "resource": "pods"},
                    "namespace": "shop", "operation": "CREATE", "userInfo": {"username": "load"},
                    "object": pod, "dryRun": False},
    }).encode()


def percentile(sorted_values, fraction):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def run_step(host, port, context, rate, seconds, connections, bodies):
    """Sends `rate` requests per second for `seconds`; returns the results."""
    schedule = queue.Queue()
    latencies, errors, sizes, lock = [], [0], [], threading.Lock()

    def worker():
        connection = None
        while True:
            item = schedule.get()
            if item is None:
                return
            scheduled, body = item
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            try:
                if connection is None:
                    connection = http.client.HTTPSConnection(host, port, context=context, timeout=10)
                connection.request("POST", "/validate", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                size = len(response.read())
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                ok = False
                connection = None
            finished = time.perf_counter()
            with lock:
                if ok:
                    latencies.append(finished - scheduled)
                    sizes.append(size)
                else:
                    errors[0] += 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in threads:
        thread.start()
    total = int(rate * seconds)
    start = time.perf_counter() + 0.2
    for index in range(total):
        schedule.put((start + index / rate, bodies[index % len(bodies)]))
    for _ in threads:
        schedule.put(None)
    deadline = start + seconds + 15
    for thread in threads:
        thread.join(max(0.0, deadline - time.perf_counter()))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "rate": rate, "sent": total, "ok": len(latencies), "errors": errors[0],
        "throughput": len(latencies) / elapsed if elapsed > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
        "max_ms": (latencies[-1] if latencies else float("nan")) * 1000,
        "max_answer_bytes": max(sizes) if sizes else 0,
    }


def start_server(binary, port, directory, extra):
    """Starts `rampart serve` (or the standalone example) with the recommended set."""
    subprocess.run([os.path.join(ROOT, "deploy", "gen-certs.sh"), directory], check=True,
                   stdout=subprocess.DEVNULL)
    certificate, key = os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key")
    if os.path.basename(binary) == "standalone":
        # `cargo build --release -p rampart-server --example standalone`: the same server without the CLI.
        command = [binary, f"127.0.0.1:{port}", certificate, key, "recommended"]
    else:
        command = [binary, "serve", "--addr", f"127.0.0.1:{port}", "--tls-cert", certificate,
                   "--tls-key", key, "--set", "recommended"] + extra
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            context = ssl.create_default_context(cafile=os.path.join(directory, "ca.crt"))
            connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=1)
            connection.request("GET", "/readyz")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.1)
    server.terminate()
    sys.exit("the server did not become ready")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "rampart"))
    parser.add_argument("--port", type=int, default=18443)
    parser.add_argument("--rates", default="100,250,500,1000,2000")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", action="store_true", help="print one JSON object per step")
    parser.add_argument("--containers", type=int, default=0,
                        help="send denied Pods of this many containers instead of small Deployments")
    parser.add_argument("--audit-log", help="pass --audit-log to `rampart serve` (its size is printed)")
    parser.add_argument("--write-review", metavar="FILE",
                        help="only write one review of --containers containers to FILE (for crowded.lua)")
    arguments = parser.parse_args()
    if arguments.write_review:
        with open(arguments.write_review, "wb") as output:
            output.write(crowded_review("load-wrk", arguments.containers or 1000))
        return

    extra = ["--max-body-bytes", str(4 * 1024 * 1024)]
    if arguments.audit_log:
        extra += ["--audit-log", arguments.audit_log]
    with tempfile.TemporaryDirectory() as directory:
        server = start_server(arguments.binary, arguments.port, directory, extra)
        try:
            context = ssl.create_default_context(cafile=os.path.join(directory, "ca.crt"))
            if arguments.containers:
                bodies = [crowded_review(f"load-{index}", arguments.containers) for index in range(8)]
            else:
                bodies = [review(f"load-{index}", index % 2 == 0) for index in range(64)]
            if not arguments.json:
                print(f"{'rate/s':>8} {'sent':>7} {'ok':>7} {'errors':>6} {'throughput/s':>12} "
                      f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'answer B':>9}")
            for rate in (float(text) for text in arguments.rates.split(",")):
                result = run_step("127.0.0.1", arguments.port, context, rate, arguments.seconds,
                                  arguments.connections, bodies)
                if arguments.json:
                    print(json.dumps(result))
                else:
                    print(f"{result['rate']:>8.0f} {result['sent']:>7} {result['ok']:>7} {result['errors']:>6} "
                          f"{result['throughput']:>12.0f} {result['p50_ms']:>8.2f} {result['p99_ms']:>8.2f} "
                          f"{result['max_ms']:>8.2f} {result['max_answer_bytes']:>9}")
                sys.stdout.flush()
            connection = http.client.HTTPSConnection("127.0.0.1", arguments.port, context=context, timeout=10)
            connection.request("GET", "/metrics")
            metrics = dict(line.rsplit(" ", 1) for line in connection.getresponse().read().decode().splitlines()
                           if line.startswith("rampart_admission_evaluation_seconds_") and "{" not in line)
            count = float(metrics.get("rampart_admission_evaluation_seconds_count", "0"))
            if count and not arguments.json:
                mean = float(metrics["rampart_admission_evaluation_seconds_sum"]) / count * 1000
                print(f"server-side mean (headers to verdict, queueing included): {mean:.3f} ms "
                      f"over {count:.0f} requests")
            if arguments.audit_log and os.path.exists(arguments.audit_log) and not arguments.json:
                with open(arguments.audit_log, "rb") as audit:
                    lines = audit.read().splitlines()
                longest = max((len(line) for line in lines), default=0)
                print(f"audit log: {len(lines)} lines, {sum(len(line) + 1 for line in lines)} bytes, "
                      f"longest line {longest} bytes")
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
