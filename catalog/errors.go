package catalog

import "errors"

var (
	// ErrNotFound is returned for a path or table that does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConfig is wrapped by every error in a qry.yaml.
	ErrConfig = errors.New("config")
	// ErrSchema is wrapped when a file's schema cannot join its table's.
	ErrSchema = errors.New("schema conflict")
)
