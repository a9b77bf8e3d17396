package wal_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/live/wal"
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

// A full disk: failed appends leave nothing behind, even when each writes
// part of its record before the disk fills (a tick freed space between
// them), and the log takes appends again once there is room. The log sits
// on a 1 MiB tmpfs, which only root may mount.
func TestFullDiskLeavesNoPartialRecords(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v %s", err, out)
	}
	defer func() { _ = exec.Command("umount", "-l", mnt).Run() }()
	l, err := wal.Open(filepath.Join(mnt, "wal"))
	require.NoError(t, err)
	defer l.Close()
	filler := filepath.Join(mnt, "filler")
	require.NoError(t, os.WriteFile(filler, make([]byte, 300<<10), 0o644))
	big := string(make([]byte, 500<<10))
	require.NoError(t, l.Append(1, []byte(big)))
	// Each of these writes what fits, then fails.
	for i := range 2 {
		err := l.Append(2, []byte(big))
		require.ErrorIs(t, err, syscall.ENOSPC, "append %d", i)
	}
	require.NoError(t, os.Remove(filler))
	require.NoError(t, l.Append(2, []byte("small")))
	got := replay(t, filepath.Join(mnt, "wal"))
	require.Len(t, got, 2)
	require.Equal(t, rec{1, big}, got[0], "the first record, whole")
	require.Equal(t, rec{2, "small"}, got[1])
}
