"""Two qry builds (or one build with two sets of flags) side by side: the 22
TPC-H queries through the same ADBC client, each query run on the two
servers in turns (A then B, B then A, ...), so that the machine's load
falls on both alike. Prints each query's medians and the geomean of B/A:
below 1.00, B is faster. Run by benchmarks/peers/ab.sh.
"""
import argparse
import math
import pathlib
import statistics
import sys
import tempfile
import time

import bench


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--a", required=True, help="qry binary A (the baseline)")
    ap.add_argument("--b", required=True, help="qry binary B")
    ap.add_argument("--flags-a", default="")
    ap.add_argument("--flags-b", default="")
    ap.add_argument("--env-a", default="", help="KEY=VALUE ... for server A")
    ap.add_argument("--env-b", default="", help="KEY=VALUE ... for server B")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    data = str(pathlib.Path(args.data).resolve())
    queries = {f.stem: f.read_text().strip().rstrip(";").strip()
               for f in sorted((bench.HERE / "queries").glob("q*.sql"))}
    with tempfile.TemporaryDirectory(prefix="qry-ab-") as tmp:
        servers, conns = [], []
        try:
            for name, binary, flags, env in (("a", args.a, args.flags_a, args.env_a),
                                             ("b", args.b, args.flags_b, args.env_b)):
                extra = flags.split()
                accel = "--accelerate" in extra
                if accel:  # to read qry_accelerated_in_sync
                    extra += ["--http", f"127.0.0.1:{bench.free_port()}"]
                srv = bench.start_qry(binary, data, tmp, name, extra,
                                      env=dict(kv.split("=", 1) for kv in env.split()))
                servers.append(srv)
                if accel:
                    deadline = time.time() + 900
                    while bench.accel_metrics(srv).get("qry_accelerated_in_sync") != 1:
                        if time.time() > deadline:
                            sys.exit(f"{name}: copies not ready after 900 s")
                        time.sleep(0.2)
            conns = [bench.Adbc(s.url) for s in servers]
            print(f"A: {args.env_a} {args.a} {args.flags_a}\nB: {args.env_b} {args.b} {args.flags_b}\n"
                  f"{args.rounds} runs each, in turns, after one untimed run each\n")
            print("| query | A ms | B ms | B/A |")
            print("|---|---:|---:|---:|")
            ratios = []
            for q, sql in queries.items():
                for c in conns:
                    c.run(sql)
                runs = [[], []]
                for r in range(args.rounds):
                    for i in ((0, 1) if r % 2 == 0 else (1, 0)):
                        t0 = time.perf_counter()
                        conns[i].run(sql)
                        runs[i].append(time.perf_counter() - t0)
                a, b = statistics.median(runs[0]), statistics.median(runs[1])
                ratios.append(b / a)
                print(f"| {q} | {a * 1000:.1f} | {b * 1000:.1f} | {b / a:.3f} |", flush=True)
            g = math.exp(sum(map(math.log, ratios)) / len(ratios))
            print(f"| **geomean** | | | **{g:.3f}** |")
        finally:
            for c in conns:
                c.close()
            for s in servers:
                s.stop()


if __name__ == "__main__":
    main()
