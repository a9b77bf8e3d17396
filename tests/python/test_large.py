"""A 10-million-row result streams to pyarrow while the server's memory stays bounded."""
import pyarrow.flight as fl

ROWS = 10_000_000
# Four columns, about 36 bytes a row: some 360 MB if the server held it whole.
SQL = f"SELECT i, i * 2 AS j, i / 3 AS x, i % 1000 AS k FROM range({ROWS}) r(i)"
PEAK_RSS_LIMIT_MB = 300


def test_ten_million_rows_stream_in_bounded_memory(server):
    client = fl.connect(server.url)
    before = server.peak_rss_mb()
    reader = client.do_get(fl.Ticket(SQL.encode()))
    rows = batches = 0
    total = 0
    for chunk in reader:
        batch = chunk.data
        rows += batch.num_rows
        batches += 1
        total += batch.column(3).to_numpy().sum()
    after = server.peak_rss_mb()
    print(f"\nstreamed {rows} rows in {batches} batches; server peak RSS {before:.0f} MiB before, {after:.0f} MiB after")
    assert rows == ROWS
    assert total == sum(range(1000)) * (ROWS // 1000)
    assert batches > 100, "the result arrived in many batches, not whole"
    assert after < PEAK_RSS_LIMIT_MB, f"server peak RSS {after:.0f} MiB"
