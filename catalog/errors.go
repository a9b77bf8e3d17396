package catalog

import "github.com/qry-dev/qry/fault"

var (
	// ErrNotFound is returned for a path or table that does not exist.
	ErrNotFound = fault.New(fault.NotFound, "not found")
	// ErrConfig is wrapped by every error in a qry.yaml.
	ErrConfig = fault.New(fault.Invalid, "config")
	// ErrSchema is wrapped when a file's schema cannot join its table's.
	ErrSchema = fault.New(fault.IO, "schema conflict")
)
