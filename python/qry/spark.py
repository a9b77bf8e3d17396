"""qry results as Spark DataFrames: the executors read the parts."""

from __future__ import annotations

from typing import Optional

import qry


def read_sql(
    spark,
    sql: str,
    uri: str,
    token: Optional[str] = None,
    partitions: Optional[int] = None,
    partition_bytes: Optional[int] = None,
    **client_kwargs,
):
    """A Spark DataFrame of sql's result on the qry server at uri: one
    Spark partition per part of the result (see qry.partitions), each read
    by an executor with mapInArrow."""
    from pyspark.sql.pandas.types import from_arrow_schema

    plan = qry.partitions(sql, uri, token, partitions=partitions, partition_bytes=partition_bytes, **client_kwargs)
    schema = plan.schema
    rows = [(p.ticket, list(p.locations), p.uri) for p in plan.parts]
    descs = spark.sparkContext.parallelize(rows, max(1, len(rows)))
    frame = spark.createDataFrame(descs, "ticket binary, locations array<string>, uri string")

    def read(batches):
        for batch in batches:
            for d in batch.to_pylist():
                part = qry.Part(ticket=bytes(d["ticket"]), locations=tuple(d["locations"] or ()), uri=d["uri"])
                table = qry.read_partition(part, token, **client_kwargs)
                for rb in table.to_batches():
                    yield rb

    return frame.mapInArrow(read, from_arrow_schema(schema))
