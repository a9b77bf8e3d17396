"""Read a qry server's results: whole (pandas, Arrow, ADBC DB-API) or in
parts that Dask, Ray and Spark read in parallel (qry.dask, qry.ray,
qry.spark).

A qry server splits a statement that is a per-row filter or projection of
one table into parts (groups of the table's files): its FlightInfo has one
endpoint per part, each with a signed ticket that any replica redeems and
the replicas' locations. ``partitions`` plans them; ``read_partition``
reads one, from the next location when a replica fails (the part is read
again whole, so a result is never short or doubled).
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Iterable, List, Optional, Sequence, Tuple

import pyarrow as pa
import pyarrow.flight as flight

__all__ = [
    "Part",
    "Plan",
    "connect",
    "partitions",
    "read_arrow",
    "read_pandas",
    "read_partition",
]

#: gRPC headers a client sets to ask the server for a split.
HEADER_PARTITIONS = b"x-qry-partitions"
HEADER_PARTITION_BYTES = b"x-qry-partition-bytes"


@dataclasses.dataclass(frozen=True)
class Part:
    """One part of a result: a signed ticket, the locations that can
    redeem it (first choice first), and the URI it was planned on."""

    ticket: bytes
    locations: Tuple[str, ...]
    uri: str

    def candidates(self) -> List[str]:
        """Where to read the part, in order: its locations, then the URI it
        was planned on (one address for every replica, behind a Service)."""
        out: List[str] = []
        for loc in (*self.locations, self.uri):
            if loc and loc not in out:
                out.append(loc)
        return out


@dataclasses.dataclass(frozen=True)
class Plan:
    """A statement's parts, its schema, and whether its rows are ordered
    (then there is one part)."""

    schema: pa.Schema
    parts: Tuple[Part, ...]
    ordered: bool


def _headers(token: Optional[str], extra: Sequence[Tuple[bytes, bytes]] = ()) -> List[Tuple[bytes, bytes]]:
    h = list(extra)
    if token:
        h.append((b"authorization", b"Bearer " + token.encode()))
    return h


_clients: dict = {}
_clients_lock = threading.Lock()


def _client(location: str, **kwargs) -> flight.FlightClient:
    key = (location, tuple(sorted(kwargs.items())))
    with _clients_lock:
        c = _clients.get(key)
        if c is None:
            c = flight.FlightClient(location, **kwargs)
            _clients[key] = c
        return c


def _drop_client(location: str, **kwargs) -> None:
    key = (location, tuple(sorted(kwargs.items())))
    with _clients_lock:
        c = _clients.pop(key, None)
    if c is not None:
        try:
            c.close()
        except Exception:  # noqa: BLE001 - already broken
            pass


def partitions(
    sql: str,
    uri: str,
    token: Optional[str] = None,
    partitions: Optional[int] = None,
    partition_bytes: Optional[int] = None,
    **client_kwargs,
) -> Plan:
    """Plan sql on the server at uri: its schema and parts. ``partitions``
    asks for about that many parts, ``partition_bytes`` for parts of about
    that many bytes of files; the server bounds either (--max-partitions)
    and splits only what it can split exactly."""
    extra = []
    if partitions is not None:
        extra.append((HEADER_PARTITIONS, str(int(partitions)).encode()))
    if partition_bytes is not None:
        extra.append((HEADER_PARTITION_BYTES, str(int(partition_bytes)).encode()))
    opts = flight.FlightCallOptions(headers=_headers(token, extra))
    info = _client(uri, **client_kwargs).get_flight_info(flight.FlightDescriptor.for_command(sql), opts)
    parts = tuple(
        Part(ticket=ep.ticket.ticket, locations=tuple(str(loc.uri.decode() if isinstance(loc.uri, bytes) else loc.uri) for loc in ep.locations), uri=uri)
        for ep in info.endpoints
    )
    return Plan(schema=info.schema, parts=parts, ordered=_ordered(info))


def _ordered(info: flight.FlightInfo) -> bool:
    return bool(getattr(info, "ordered", False))


#: Errors after which a part is read again from its next location: the
#: replica is gone or cut the stream. Others (a bad ticket, a statement
#: error, files changed since the plan) are the answer.
RETRYABLE = (flight.FlightUnavailableError, flight.FlightTimedOutError, flight.FlightInternalError, ConnectionError)


def read_partition(part: Part, token: Optional[str] = None, **client_kwargs) -> pa.Table:
    """Read one part whole: from its first location, else the next one
    (a replica that fails mid-stream leaves nothing behind: the part is
    read again from the start)."""
    opts = flight.FlightCallOptions(headers=_headers(token))
    last: Optional[BaseException] = None
    for loc in part.candidates():
        try:
            reader = _client(loc, **client_kwargs).do_get(flight.Ticket(part.ticket), opts)
            return reader.read_all()
        except RETRYABLE as e:  # the replica failed: the next one
            last = e
            _drop_client(loc, **client_kwargs)
    assert last is not None
    raise last


def read_arrow(sql: str, uri: str, token: Optional[str] = None, **client_kwargs) -> pa.Table:
    """The whole result of sql as an Arrow table (every part, in order)."""
    plan = partitions(sql, uri, token, **client_kwargs)
    tables = [read_partition(p, token, **client_kwargs) for p in plan.parts]
    if not tables:
        return plan.schema.empty_table()
    return pa.concat_tables(tables)


def read_pandas(sql: str, uri: str, token: Optional[str] = None, **client_kwargs):
    """The whole result of sql as a pandas DataFrame."""
    return read_arrow(sql, uri, token, **client_kwargs).to_pandas()


def connect(uri: str, token: Optional[str] = None, **db_kwargs):
    """An ADBC DB-API connection to the server (adbc_driver_flightsql):
    ``cursor.adbc_execute_partitions`` and ``adbc_read_partition`` read the
    same parts as ``partitions``."""
    import adbc_driver_flightsql.dbapi as fs

    kwargs = dict(db_kwargs)
    if token:
        kwargs["adbc.flight.sql.authorization_header"] = "Bearer " + token
    return fs.connect(uri, db_kwargs=kwargs)


def _tables(parts: Iterable[Part], token: Optional[str], **client_kwargs):
    for p in parts:
        yield read_partition(p, token, **client_kwargs)
