package limit_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/fault"
	"github.com/qry-dev/qry/server/limit"
)

func TestSQL(t *testing.T) {
	require.NoError(t, limit.SQL("SELECT 1", 8))
	err := limit.SQL("SELECT 10", 8)
	require.ErrorIs(t, err, limit.ErrTooLarge)
	require.Equal(t, fault.TooLarge, fault.KindOf(err))
	require.Equal(t, "request too large: the statement has 9 bytes, the limit is 8", err.Error())
	require.NoError(t, limit.SQL(strings.Repeat("x", limit.DefaultSQLBytes), limit.DefaultSQLBytes))
}
