"""qry results as Ray Datasets: a Ray Datasource, one read task per part."""

from __future__ import annotations

from typing import List, Optional

import qry


def _datasource_class():
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    class QryDatasource(Datasource):
        """The parts of one qry result (see qry.partitions)."""

        def __init__(self, plan: "qry.Plan", token: Optional[str], client_kwargs: dict):
            self._plan, self._token, self._kwargs = plan, token, client_kwargs

        def estimate_inmemory_data_size(self) -> Optional[int]:
            return None

        def get_name(self) -> str:
            return "qry"

        def get_read_tasks(self, parallelism: int, per_task_row_limit=None, data_context=None) -> List[ReadTask]:
            # The server decided the parts: one task each, whatever
            # parallelism Ray suggests.
            tasks = []
            for part in self._plan.parts:
                def read(part=part, token=self._token, kwargs=self._kwargs):
                    return [qry.read_partition(part, token, **kwargs)]

                meta = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None)
                tasks.append(ReadTask(read, meta, schema=self._plan.schema))
            return tasks

    return QryDatasource


def read_sql(
    sql: str,
    uri: str,
    token: Optional[str] = None,
    partitions: Optional[int] = None,
    partition_bytes: Optional[int] = None,
    **client_kwargs,
):
    """A Ray Dataset of sql's result on the qry server at uri, read by one
    Ray task per part of the result (see qry.partitions)."""
    import ray.data

    plan = qry.partitions(sql, uri, token, partitions=partitions, partition_bytes=partition_bytes, **client_kwargs)
    source = _datasource_class()(plan, token, client_kwargs)
    return ray.data.read_datasource(source, override_num_blocks=max(1, len(plan.parts)))
