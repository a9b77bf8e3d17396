"""The point-in-polygon through geopandas (read both files, sjoin, count
per polygon), checked against the answer qry and DuckDB agreed on, and the
table of all three."""
import json
import sys
import time

import geopandas as gpd


def pip(data):
    points = gpd.read_parquet(f"{data}/points")
    polys = gpd.read_file(f"{data}/polys.gpkg")
    joined = gpd.sjoin(points, polys, predicate="within")
    counts = joined.groupby("pid").size().sort_index()
    return "|".join(f"{int(p)},{int(n)}" for p, n in counts.items())


def main():
    results = json.load(open(sys.argv[1]))
    data = sys.argv[2]
    best, answer = None, None
    for _ in range(3):
        t = time.perf_counter()
        answer = pip(data)
        d = time.perf_counter() - t
        best = d if best is None or d < best else best
    r = results[0]
    assert answer == r["answer"], "geopandas disagrees with qry and DuckDB"
    print()
    print("| query | qry s | DuckDB s | geopandas s | qry vs DuckDB | geopandas / qry | files read by qry |")
    print("|---|---:|---:|---:|---:|---:|---|")
    print(f"| {r['name']} | {r['qry']:.3f} | {r['duckdb']:.3f} | {best:.3f} | {r['qry'] / r['duckdb']:.2f}x | {best / r['qry']:.1f}x | {r['files']} |")
    for r in results[1:]:
        print(f"| {r['name']} | {r['qry']:.4f} | {r['duckdb']:.4f} | | {r['duckdb'] / r['qry']:.1f}x faster | | {r['files']} |")


if __name__ == "__main__":
    main()
