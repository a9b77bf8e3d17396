package flightsql

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/fault"
)

// A query's FlightInfo has one endpoint per part of its result (see
// engine.Partitions): Dask, Ray or Spark workers, or ADBC's
// adbc_read_partition, read them side by side, from any replica. Each
// endpoint's ticket is signed and names its part's files; its locations
// are the replicas (Options.Locations), a different one first for each
// endpoint so that the reads spread.
//
// A client may ask for its own split with gRPC metadata on GetFlightInfo:
// "x-qry-partitions: N" for about N parts, "x-qry-partition-bytes: B" for
// parts of about B bytes; the server's --max-partitions bounds either.

// Headers a client sets on GetFlightInfo to ask for a split.
const (
	HeaderPartitions     = "x-qry-partitions"
	HeaderPartitionBytes = "x-qry-partition-bytes"
)

// partitionOptions reads a client's request for a split from ctx's gRPC
// metadata.
func partitionOptions(ctx context.Context) (engine.PartitionOptions, error) {
	var opts engine.PartitionOptions
	md, _ := metadata.FromIncomingContext(ctx)
	for _, h := range []string{HeaderPartitions, HeaderPartitionBytes} {
		vals := md.Get(h)
		if len(vals) == 0 {
			continue
		}
		n, err := strconv.ParseInt(vals[len(vals)-1], 10, 64)
		if err != nil || n < 1 {
			return opts, fault.New(fault.BadRequest, fmt.Sprintf("header %s: %q is not a positive whole number", h, vals[len(vals)-1]))
		}
		if h == HeaderPartitions {
			opts.Parts = int(min(n, 1<<30))
		} else {
			opts.Bytes = n
		}
	}
	return opts, nil
}

// statementInfo is the FlightInfo of a query: its schema (nil if not
// known before it runs) and a signed ticket per part of its result.
func (s *Server) statementInfo(ctx context.Context, desc *flight.FlightDescriptor, schema *arrow.Schema, sql string, args []any) (*flight.FlightInfo, error) {
	opts, err := partitionOptions(ctx)
	if err != nil {
		return nil, err
	}
	parts, err := s.eng.Partitions(ctx, sql, opts)
	if err != nil {
		return nil, err
	}
	expires := time.Now().Add(s.ttl)
	fi := s.flightInfo(desc, schema, nil)
	fi.Ordered = parts.Ordered
	fi.Endpoint = nil
	if len(parts.Parts) == 0 {
		tkt, err := s.ticket(ctx, sql, args, nil)
		if err != nil {
			return nil, err
		}
		fi.Endpoint = []*flight.FlightEndpoint{{Ticket: &flight.Ticket{Ticket: tkt}, ExpirationTime: timestamppb.New(expires)}}
		return fi, nil
	}
	var locs []string
	if s.opts.Locations != nil {
		locs = s.opts.Locations()
	}
	for i := range parts.Parts {
		part := &parts.Parts[i]
		tkt, err := s.ticket(ctx, sql, args, part)
		if err != nil {
			return nil, err
		}
		ep := &flight.FlightEndpoint{Ticket: &flight.Ticket{Ticket: tkt}, ExpirationTime: timestamppb.New(expires)}
		for j := range locs {
			ep.Location = append(ep.Location, &flight.Location{Uri: locs[(i+j)%len(locs)]})
		}
		fi.Endpoint = append(fi.Endpoint, ep)
	}
	return fi, nil
}
