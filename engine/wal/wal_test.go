package wal_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/engine/wal"
)

type rec struct {
	first uint64
	data  string
}

func replay(t *testing.T, dir string) []rec {
	t.Helper()
	var out []rec
	require.NoError(t, wal.Replay(dir, func(first uint64, p []byte) error {
		out = append(out, rec{first, string(p)})
		return nil
	}))
	return out
}

func TestAppendReplayRotate(t *testing.T) {
	dir := t.TempDir()
	l, err := wal.Open(dir)
	require.NoError(t, err)
	var want []rec
	for i := range 5 {
		r := rec{uint64(i*10 + 1), fmt.Sprintf("batch %d", i)}
		require.NoError(t, l.Append(r.first, []byte(r.data)))
		want = append(want, r)
	}
	old, err := l.Rotate()
	require.NoError(t, err)
	require.Len(t, old, 1)
	require.NoError(t, l.Append(51, []byte("after rotate")))
	require.NoError(t, l.Close())
	require.Equal(t, append(want, rec{51, "after rotate"}), replay(t, dir))

	// Removing the rotated segments leaves the later records.
	require.NoError(t, l.Remove(old))
	require.Equal(t, []rec{{51, "after rotate"}}, replay(t, dir))

	// Reopening appends after what is there.
	l2, err := wal.Open(dir)
	require.NoError(t, err)
	require.NoError(t, l2.Append(52, []byte("reopened")))
	require.NoError(t, l2.Close())
	require.Equal(t, []rec{{51, "after rotate"}, {52, "reopened"}}, replay(t, dir))
}

func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	l, err := wal.Open(dir)
	require.NoError(t, err)
	require.NoError(t, l.Append(1, []byte("kept")))
	require.NoError(t, l.Append(2, []byte("torn record")))
	require.NoError(t, l.Close())
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	last := segs[len(segs)-1]
	st, _ := os.Stat(last)
	for cut := st.Size() - 1; cut > st.Size()-int64(len("torn record"))-16; cut -= 5 {
		require.NoError(t, os.Truncate(last, cut))
		require.Equal(t, []rec{{1, "kept"}}, replay(t, dir), "cut at %d", cut)
	}
}

func TestDamageBeforeTheEndIsAnError(t *testing.T) {
	dir := t.TempDir()
	l, err := wal.Open(dir)
	require.NoError(t, err)
	require.NoError(t, l.Append(1, []byte("first")))
	_, err = l.Rotate()
	require.NoError(t, err)
	require.NoError(t, l.Append(2, []byte("second")))
	require.NoError(t, l.Close())
	segs, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	data, _ := os.ReadFile(segs[0])
	data[len(data)-1] ^= 0xff
	require.NoError(t, os.WriteFile(segs[0], data, 0o644))
	err = wal.Replay(dir, func(uint64, []byte) error { return nil })
	require.ErrorIs(t, err, wal.ErrCorrupt)
}
