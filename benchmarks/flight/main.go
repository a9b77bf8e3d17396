// Command flight is the Flight throughput benchmark's Go side:
//
//	flight gen DIR ROWS        write ROWS rows of 4 narrow columns as Parquet in DIR
//	flight bare FILE ADDR N    serve FILE's rows from memory over plain Flight,
//	                           in batches of N rows (the transport's ceiling)
//
// bench.py drives it; see benchmarks/README.md.
package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/flight"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/duckdb/duckdb-go/v2"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "flight:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 3 && args[0] == "gen" {
		rows, err := strconv.Atoi(args[2])
		if err != nil {
			return err
		}
		return gen(args[1], rows)
	}
	if len(args) == 4 && args[0] == "bare" {
		n, err := strconv.Atoi(args[3])
		if err != nil {
			return err
		}
		return bare(args[1], args[2], n)
	}
	return fmt.Errorf("usage: flight gen DIR ROWS | flight bare FILE ADDR BATCH_ROWS")
}

func gen(dir string, rows int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Exec(fmt.Sprintf(`COPY (SELECT i AS id, hash(i) %% 1000000 AS key, i / 7.0 AS value, (i %% 100)::INTEGER AS bucket
		FROM range(%d) r(i)) TO '%s' (FORMAT parquet, ROW_GROUP_SIZE 1000000)`, rows, filepath.Join(dir, "big.parquet")))
	return err
}

type bareServer struct {
	flight.BaseFlightServer
	schema *arrow.Schema
	recs   []arrow.RecordBatch
}

func (s *bareServer) DoGet(_ *flight.Ticket, stream flight.FlightService_DoGetServer) error {
	w := flight.NewRecordWriter(stream, ipc.WithSchema(s.schema))
	defer w.Close()
	for _, r := range s.recs {
		if err := w.Write(r); err != nil {
			return err
		}
	}
	return nil
}

func bare(path, addr string, batch int) error {
	f, err := file.OpenParquetFile(path, false)
	if err != nil {
		return err
	}
	defer f.Close()
	rd, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{BatchSize: int64(batch)}, memory.DefaultAllocator)
	if err != nil {
		return err
	}
	rr, err := rd.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		return err
	}
	s := &bareServer{schema: rr.Schema()}
	for rr.Next() {
		rec := rr.RecordBatch()
		// Re-slice to exactly batch rows so both servers send alike.
		for off := int64(0); off < rec.NumRows(); off += int64(batch) {
			s.recs = append(s.recs, rec.NewSlice(off, min(off+int64(batch), rec.NumRows())))
		}
	}
	if err := rr.Err(); err != nil {
		return err
	}
	var total int64
	for _, r := range s.recs {
		total += r.NumRows()
	}
	srv := flight.NewServerWithMiddleware(nil)
	srv.RegisterFlightService(s)
	if err := srv.Init(addr); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bare: %d rows in %d batches on %s\n", total, len(s.recs), srv.Addr())
	return srv.Serve()
}
