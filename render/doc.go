// Package render writes a stream of Arrow record batches in the formats qry
// prints: a pretty table for people, and CSV, JSON, NDJSON, Parquet and Arrow
// IPC for programs. Machine formats are exact and streamed batch by batch;
// the table format keeps at most MaxRows rows to size its columns.
package render
