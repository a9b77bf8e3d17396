"""A writer process for the crash test: it ingests batches of new ids into a
qry writable table, one batch after another, and keeps a log of what it
tried and what the server acknowledged. When a write fails (the server was
killed) it reconnects and goes on with the next ids: an id is never sent
twice, so a duplicate in the table can only be the server's doing.

Usage: crash_writer.py URL LOG STOPFILE SEED
LOG lines: "try FIRST COUNT" before a write, "ack FIRST COUNT" after its
acknowledgement, "err FIRST COUNT MESSAGE" after a failure.
"""
import os
import random
import sys
import time

import adbc_driver_flightsql.dbapi as flight_sql
import pyarrow as pa
import pyarrow.compute as pc


def main():
    url, log_path, stop, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    rnd = random.Random(seed)
    next_id = 0
    conn = None
    with open(log_path, "a", buffering=1) as log:
        while not os.path.exists(stop):
            n = rnd.randint(1, 3000)
            ids = pa.array(range(next_id, next_id + n), type=pa.int64())
            batch = pa.table({"id": ids, "v": pc.multiply(ids, 0.5), "part": pc.cast(pc.bit_wise_and(ids, 1), pa.int32())})
            log.write(f"try {next_id} {n}\n")
            try:
                if conn is None:
                    conn = flight_sql.connect(url)
                with conn.cursor() as cur:
                    got = cur.adbc_ingest("readings", batch, mode="append")
                if got != n:
                    raise RuntimeError(f"acknowledged {got} rows of {n}")
                log.write(f"ack {next_id} {n}\n")
            except Exception as e:  # the server was killed: reconnect
                msg = " ".join(str(e).split())[:200]
                log.write(f"err {next_id} {n} {msg}\n")
                try:
                    if conn is not None:
                        conn.close()
                except Exception:
                    pass
                conn = None
                time.sleep(0.05)
            next_id += n


if __name__ == "__main__":
    main()
