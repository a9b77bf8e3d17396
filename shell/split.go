package shell

import "github.com/qry-dev/qry/sql"

// splitStatements cuts complete statements (ended by ';' outside quotes,
// dollar quotes and comments) off the front of buf and returns them with
// the unfinished rest. The lexer is sql's, the one that reads SQL text
// everywhere in qry.
func splitStatements(buf string) (stmts []string, rest string) {
	return sql.Split(buf)
}
