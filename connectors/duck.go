package connectors

import (
	"database/sql"
	"fmt"

	// DuckDB's database/sql driver, used for indexing queries.
	_ "github.com/duckdb/duckdb-go/v2"
)

// OpenDB opens the in-memory DuckDB that connectors use to read schemas and
// statistics at indexing time. It is separate from the engine's query
// database, capped in threads and memory, and never sees user SQL.
func OpenDB(threads int) (*sql.DB, error) {
	if threads < 1 {
		threads = 1
	}
	db, err := sql.Open("duckdb", fmt.Sprintf("?threads=%d&memory_limit=2GB&autoinstall_known_extensions=false&autoload_known_extensions=false", threads))
	if err != nil {
		return nil, fmt.Errorf("open indexing database: %w", err)
	}
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("open indexing database: %w", err)
	}
	return db, nil
}
