"""Geometries reach GIS tools with their CRS: a GeoJSON table's geometry
column travels over Flight SQL as GeoArrow (geoarrow.wkb with the CRS in its
extension metadata), so geopandas.GeoDataFrame.from_arrow makes a
GeoDataFrame in OGC:CRS84 with no conversion code. Checked against the
GeoJSON file read with json and shapely."""
import json
import subprocess
import urllib.error
import urllib.request

import adbc_driver_flightsql.dbapi as flight_sql
import geopandas
import pandas as pd
import pyarrow.flight as flight
import pyarrow.parquet as pq
import shapely
import shapely.geometry

import pytest

from conftest import ROOT, SAMPLE, start_server


def features():
    """zone_id -> (name, shapely geometry), from the file itself."""
    doc = json.loads((SAMPLE / "zones.geojson").read_text())
    return {f["properties"]["zone_id"]: (f["properties"]["name"], shapely.geometry.shape(f["geometry"]))
            for f in doc["features"]}


def check(gdf):
    assert gdf.crs is not None and gdf.crs.equals("OGC:CRS84"), gdf.crs
    assert gdf.geometry.name == "geometry"
    want = features()
    assert sorted(gdf["zone_id"]) == sorted(want)
    for zone_id, name, geom in zip(gdf["zone_id"], gdf["name"], gdf.geometry):
        assert name == want[zone_id][0]
        assert geom.equals_exact(want[zone_id][1], 1e-12), (zone_id, geom.wkt, want[zone_id][1].wkt)
    # Measures on the frame agree with shapely's on the file's geometries.
    areas = dict(zip(gdf["zone_id"], shapely.area(list(gdf.geometry))))
    for zone_id, (_, geom) in want.items():
        assert abs(areas[zone_id] - geom.area) < 1e-12


def test_geodataframe_from_adbc(server):
    with flight_sql.connect(server.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT zone_id, name, geometry FROM zones ORDER BY zone_id")
        table = cur.fetch_arrow_table()
    field = table.schema.field("geometry")
    assert field.metadata[b"ARROW:extension:name"] == b"geoarrow.wkb"
    assert json.loads(field.metadata[b"ARROW:extension:metadata"])["crs"]["id"] == {"authority": "OGC", "code": "CRS84"}
    check(geopandas.GeoDataFrame.from_arrow(table))


def test_geodataframe_from_plain_flight(server):
    # pyarrow.flight alone: the command is SQL text, and the FlightInfo's
    # schema carries the CRS as the stream's does.
    client = flight.connect(server.url)
    sql = "SELECT zone_id, name, geometry FROM zones WHERE zone_id <= 3"
    info = client.get_flight_info(flight.FlightDescriptor.for_command(sql.encode()))
    table = client.do_get(info.endpoints[0].ticket).read_all()
    client.close()
    assert info.schema == table.schema
    assert sorted(table.column("zone_id").to_pylist()) == [z for z in sorted(features()) if z <= 3]
    gdf = geopandas.GeoDataFrame.from_arrow(table)
    assert gdf.crs.equals("OGC:CRS84")
    want = features()
    for zone_id, geom in zip(gdf["zone_id"], gdf.geometry):
        assert geom.equals_exact(want[zone_id][1], 1e-12)


@pytest.fixture(scope="module")
def web(qry_bin):
    srv = start_server(qry_bin, "--data", str(SAMPLE), "--http", "127.0.0.1:0")
    yield srv
    srv.proc.terminate()
    srv.proc.wait(timeout=30)


def post(srv, sql, accept):
    req = urllib.request.Request(srv.http + "/v1/query", data=sql.encode(), method="POST",
                                 headers={"Content-Type": "text/plain", "Accept": accept})
    return urllib.request.urlopen(req, timeout=60)


def test_geojson_over_http(web):
    """Accept: application/geo+json is a FeatureCollection that geopandas
    (and QGIS, web maps) reads as features."""
    with post(web, "SELECT zone_id, name, geometry FROM zones ORDER BY zone_id", "application/geo+json") as resp:
        assert resp.headers["Content-Type"] == "application/geo+json"
        doc = json.load(resp)
    assert doc["type"] == "FeatureCollection"
    gdf = geopandas.GeoDataFrame.from_features(doc["features"], crs="OGC:CRS84")
    check(gdf)
    with pytest.raises(urllib.error.HTTPError) as err:
        post(web, "SELECT 1 AS x", "application/geo+json")
    assert err.value.code == 400
    assert "format geojson needs a geometry column" in err.value.read().decode()


def test_geoparquet_output(qry_bin, tmp_path):
    """qry query --format geoparquet writes GeoParquet 1.1 that geopandas
    reads with its CRS."""
    out = tmp_path / "zones.parquet"
    subprocess.run([str(qry_bin), "query", "-d", str(SAMPLE), "--cache-dir", str(tmp_path / "cache"), "-F", "geoparquet",
                    "-o", str(out), "SELECT zone_id, name, geometry FROM zones ORDER BY zone_id"], check=True)
    check(geopandas.read_parquet(out))
    geo = json.loads(pq.read_metadata(out).metadata[b"geo"])
    assert geo["version"] == "1.1.0" and geo["primary_column"] == "geometry"
    want_types = {features()[z][1].geom_type for z in features()}
    assert set(geo["columns"]["geometry"]["geometry_types"]) == want_types


def test_geoparquet_from_geopandas(qry_bin, tmp_path):
    """GeoParquet that geopandas writes is a table whose geometry keeps its
    CRS; a spatial predicate prunes its files by the bounding boxes in their
    metadata, and answers as geopandas does."""
    root = tmp_path / "data" / "points"
    root.mkdir(parents=True)
    frames = []
    for i in range(4):
        g = geopandas.GeoDataFrame({"id": list(range(i * 10, i * 10 + 10))},
                                   geometry=[shapely.Point(i * 10 + k * 0.5, i * 10 + k * 0.3) for k in range(10)],
                                   crs="EPSG:4326")
        g.to_parquet(root / f"part-{i}.parquet")
        frames.append(g)
    everything = geopandas.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    box = shapely.box(9, 9, 15, 15)
    want = sorted(everything[everything.intersects(box)]["id"])
    ext = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    srv = start_server(qry_bin, "--data", str(tmp_path / "data"), "--extension-dir", str(ext))
    try:
        with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
            sql = "SELECT id, geometry FROM points WHERE ST_Intersects(geometry, ST_MakeEnvelope(9, 9, 15, 15)) ORDER BY id"
            cur.execute(sql)
            table = cur.fetch_arrow_table()
            cur.execute("EXPLAIN " + sql)
            plan = cur.fetchall()[0][1]
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)
    assert table.column("id").to_pylist() == want and want
    assert "points: 4 files, 1 read, 3 pruned" in plan, plan
    gdf = geopandas.GeoDataFrame.from_arrow(table)
    assert gdf.crs.equals("EPSG:4326"), gdf.crs


def test_mixed_crs_is_left_out_by_name(qry_bin, tmp_path):
    """A file whose geometry has another CRS than the table's is left out,
    with one line that names it and both CRS; the table answers from the
    rest."""
    root = tmp_path / "data" / "places"
    root.mkdir(parents=True)
    geopandas.GeoDataFrame({"id": [1, 2]}, geometry=[shapely.Point(1, 1), shapely.Point(2, 2)], crs="EPSG:4326").to_parquet(root / "a.parquet")
    geopandas.GeoDataFrame({"id": [3]}, geometry=[shapely.Point(3, 3)], crs="EPSG:3857").to_parquet(root / "b.parquet")
    srv = start_server(qry_bin, "--data", str(tmp_path / "data"))
    try:
        with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
            cur.execute("SELECT id FROM places ORDER BY id")
            assert [r[0] for r in cur.fetchall()] == [1, 2]
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)
    lines = [line for line in open(srv.log).read().splitlines() if "b.parquet" in line]
    assert lines, open(srv.log).read()
    assert "GEOMETRY('EPSG:3857') here but GEOMETRY('EPSG:4326') in the table: one table holds one CRS" in lines[0], lines[0]
    assert "projjson" not in lines[0].lower()


def test_gdal_formats_written_by_geopandas(qry_bin, tmp_path):
    """Files that geopandas (pyogrio, GDAL) writes are tables through the
    spatial extension's GDAL reader: a GeoPackage of two layers is a table
    per layer (file.layer), a Shapefile with its sidecars and a FlatGeobuf
    a table each. Each answers as geopandas reads the file, with its CRS,
    and a spatial predicate prunes by the layer's bounding box."""
    data = tmp_path / "data"
    data.mkdir()
    roads = geopandas.GeoDataFrame({"name": ["a", "b", "c"]},
                                   geometry=[shapely.LineString([(0, 0), (1, 1)]), shapely.LineString([(2, 2), (3, 1)]),
                                             shapely.LineString([(5, 5), (6, 7)])], crs="EPSG:4326")
    parks = geopandas.GeoDataFrame({"area_code": [10, 20]}, geometry=[shapely.box(0, 0, 1, 1), shapely.box(4, 4, 6, 5)], crs="EPSG:4326")
    roads.to_file(data / "city.gpkg", layer="roads", driver="GPKG")
    parks.to_file(data / "city.gpkg", layer="parks", driver="GPKG")
    wells = geopandas.GeoDataFrame({"depth": [1.5, 2.5]}, geometry=[shapely.Point(7, 8), shapely.Point(9, 9)], crs="EPSG:3857")
    wells.to_file(data / "wells.shp")
    trees = geopandas.GeoDataFrame({"kind": ["oak", "elm", "ash"]},
                                   geometry=[shapely.Point(0.5, 0.5), shapely.Point(10, 10), shapely.Point(20, 20)], crs="EPSG:4326")
    trees.to_file(data / "trees.fgb", driver="FlatGeobuf")
    ext = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    srv = start_server(qry_bin, "--data", str(data), "--extension-dir", str(ext))

    def fetch(cur, sql):
        cur.execute(sql)
        return geopandas.GeoDataFrame.from_arrow(cur.fetch_arrow_table())

    try:
        with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables ORDER BY 1")
            assert {"city.parks", "city.roads", "wells", "trees"} <= {r[0] for r in cur.fetchall()}
            for table, frame, col in [("city.roads", roads, "name"), ("city.parks", parks, "area_code"),
                                      ("wells", wells, "depth"), ("trees", trees, "kind")]:
                got = fetch(cur, f'SELECT {col}, geom FROM "{table}" ORDER BY {col}')
                want = geopandas.read_file(data / (table.split(".")[0] + {"city": ".gpkg", "wells": ".shp", "trees": ".fgb"}[table.split(".")[0]]),
                                           layer=table.split(".")[1] if "." in table else None).sort_values(col)
                assert list(got[col]) == list(want[col]), table
                assert all(g.equals_exact(w, 1e-9) for g, w in zip(got.geometry, want.geometry)), table
                assert got.crs is not None and got.crs.equals(frame.crs), (table, got.crs)
            # A box that only the second park meets: the parks layer is read,
            # the answer is geopandas'.
            sql = 'SELECT area_code FROM "city.parks" WHERE ST_Intersects(geom, ST_MakeEnvelope(4.5, 4.2, 5, 4.8))'
            cur.execute(sql)
            assert [r[0] for r in cur.fetchall()] == list(parks[parks.intersects(shapely.box(4.5, 4.2, 5, 4.8))]["area_code"])
            cur.execute('EXPLAIN SELECT kind FROM trees WHERE ST_Intersects(geom, ST_MakeEnvelope(100, 100, 101, 101))')
            assert "trees: 1 files, 0 read, 1 pruned" in cur.fetchall()[0][1]
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)


def test_geoparquet_covering_columns_prune(qry_bin, tmp_path):
    """GeoParquet 1.1 whose metadata gives no bbox but a bbox covering
    column (geopandas' write_covering_bbox): the covering column's Parquet
    statistics give each file's box, and a spatial predicate prunes by it."""
    import pyarrow.parquet as pq

    root = tmp_path / "data" / "sites"
    root.mkdir(parents=True)
    frames = []
    for i in range(4):
        g = geopandas.GeoDataFrame({"id": list(range(i * 10, i * 10 + 10))},
                                   geometry=[shapely.Point(i * 20 + k, i * 20 + k * 0.5) for k in range(10)], crs="EPSG:4326")
        path = root / f"part-{i}.parquet"
        g.to_parquet(path, write_covering_bbox=True)
        # Take the bbox out of the metadata: only the covering is left.
        t = pq.read_table(path)
        geo = json.loads(t.schema.metadata[b"geo"])
        assert "covering" in geo["columns"]["geometry"]
        del geo["columns"]["geometry"]["bbox"]
        pq.write_table(t.replace_schema_metadata({**t.schema.metadata, b"geo": json.dumps(geo).encode()}), path)
        frames.append(g)
    everything = geopandas.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    box = shapely.box(19, 19, 30, 30)
    want = sorted(everything[everything.intersects(box)]["id"])
    ext = next((ROOT / ".venv" / "lib").glob("python3*/site-packages"))
    srv = start_server(qry_bin, "--data", str(tmp_path / "data"), "--extension-dir", str(ext))
    try:
        with flight_sql.connect(srv.url) as conn, conn.cursor() as cur:
            sql = "SELECT id FROM sites WHERE ST_Intersects(geometry, ST_MakeEnvelope(19, 19, 30, 30)) ORDER BY id"
            cur.execute(sql)
            got = [r[0] for r in cur.fetchall()]
            cur.execute("EXPLAIN " + sql)
            plan = cur.fetchall()[0][1]
    finally:
        srv.proc.terminate()
        srv.proc.wait(timeout=30)
    assert got == want and want
    assert "sites: 4 files, 1 read, 3 pruned" in plan, plan
