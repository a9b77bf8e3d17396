//go:build duckdb_arrow

package duck

import (
	"strconv"
	"strings"

	"github.com/qry-dev/qry/fault"
)

// newError turns a DuckDB error message into a *fault.Error with its Kind,
// and the position DuckDB marks ("LINE n:" and a caret) as Line and Col.
func newError(msg string) error {
	k := fault.Internal
	switch head, _, _ := strings.Cut(msg, ":"); head {
	case "Parser Error", "Syntax Error":
		k = fault.Syntax
	case "Catalog Error":
		k = fault.Catalog
	case "Binder Error":
		k = fault.Binder
	case "IO Error", "HTTP Error":
		k = fault.IO
	case "Conversion Error", "Invalid Input Error", "Constraint Error", "Invalid Error",
		"Not implemented Error", "Permission Error", "Out of Range Error", "Invalid Configuration Error":
		k = fault.Invalid
	case "Out of Memory Error":
		k = fault.Resource
	case "INTERRUPT Error":
		return ErrCanceled
	}
	qe := &fault.Error{Kind: k}
	// DuckDB appends "LINE n: <text>" and a line with a caret under the
	// error's position; turn them into Line and Col.
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	var keep []string
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if rest, ok := strings.CutPrefix(l, "LINE "); ok {
			num, _, ok := strings.Cut(rest, ":")
			if n, err := strconv.Atoi(num); ok && err == nil && i+1 < len(lines) {
				prefix := len("LINE ") + len(num) + 2
				if caret := strings.Index(lines[i+1], "^"); caret >= prefix {
					qe.Line, qe.Col = n, caret-prefix+1
					i++
					continue
				}
			}
		}
		if strings.TrimSpace(l) != "" {
			keep = append(keep, strings.TrimSpace(l))
		}
	}
	qe.Msg = strings.Join(keep, " ")
	return qe
}
