// Package shell is qry's interactive SQL shell: line editing and history
// (liner), multi-line statements ended by ';', tab completion of keywords,
// tables and columns, meta-commands (.help, .tables, .schema, .mode, .timer,
// .output, .read, .refresh, .quit), pretty results fitted to the terminal,
// a progress line for queries that run longer than a second, and Ctrl-C to
// cancel the running query without leaving. It runs over a Backend: the
// local engine, or a remote qry through the Flight SQL client.
//
// Without a terminal (qry shell < script.sql) it runs the input as a batch
// and stops at the first error.
package shell
