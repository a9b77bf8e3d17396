// Package httpapi is qry's HTTP door: health and readiness probes,
// Prometheus metrics, and simple queries for clients that do not speak
// Arrow Flight (web apps, curl, services in other languages).
//
//	GET  /healthz          200 while the process serves
//	GET  /readyz           200 once the catalog is loaded, 503 before and while draining
//	GET  /metrics          Prometheus text format
//	POST /v1/query         SQL in the body (text, or JSON {"sql": ..., "params": [...]});
//	                       the result streams as JSON, NDJSON, CSV or an Arrow IPC stream,
//	                       chosen by the Accept header (or ?format=)
//	GET  /v1/tables        the catalog's tables
//	GET  /v1/tables/NAME   one table's columns and files
//
// Queries go through the same engine as Flight SQL, so the same sandbox,
// concurrency limit, queue and result limits hold; the server adds the same
// statement size limit, timeout and bearer tokens. A result streams batch by
// batch: errors found before the first batch get a proper status and a JSON
// body; an error after the first bytes were sent cuts the connection, so a
// truncated result never looks complete.
package httpapi
