"""qry results as Dask DataFrames: one partition per part of the result."""

from __future__ import annotations

import functools
from typing import Optional

import qry


def _pandas(table):
    """table as pandas, decimals as pandas' Arrow decimals: numbers that
    sum and compare, which plain Python Decimal objects in an object
    column are not to Dask (it takes object columns for strings)."""
    import pandas as pd
    import pyarrow as pa

    def mapper(t):
        return pd.ArrowDtype(t) if pa.types.is_decimal(t) else None

    return table.to_pandas(types_mapper=mapper)


def _read(part: "qry.Part", token: Optional[str], client_kwargs: dict):
    return _pandas(qry.read_partition(part, token, **client_kwargs))


def read_sql(
    sql: str,
    uri: str,
    token: Optional[str] = None,
    partitions: Optional[int] = None,
    partition_bytes: Optional[int] = None,
    **client_kwargs,
):
    """A Dask DataFrame of sql's result on the qry server at uri, one Dask
    partition per part (see qry.partitions), its meta from the result's
    schema. The parts are read by the workers, each from its replicas."""
    import dask.dataframe as dd

    plan = qry.partitions(sql, uri, token, partitions=partitions, partition_bytes=partition_bytes, **client_kwargs)
    meta = _pandas(plan.schema.empty_table())
    read = functools.partial(_read, token=token, client_kwargs=client_kwargs)
    return dd.from_map(read, list(plan.parts), meta=meta, label="qry-read", enforce_metadata=False)
