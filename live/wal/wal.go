// Package wal is the write-ahead log of a writable table: each write is one
// record, appended and fsynced before the write is acknowledged, and replayed
// after a crash. The log is a directory of numbered segment files; a tick
// rotates to a new segment and, once the rows of the old ones are archived,
// removes them.
//
// A record is [length u32][crc32c u32][first sequence u64][payload]. A torn
// record at the end of the last segment (a crash mid-append, never
// acknowledged) is cut off at replay; a damaged record anywhere else is an
// error, since acknowledged writes would be lost.
package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// ErrCorrupt is returned when a record other than the last is damaged.
var ErrCorrupt = errors.New("write-ahead log corrupt")

var crcTable = crc32.MakeTable(crc32.Castagnoli)

const headerLen = 16

// Log is an open write-ahead log. It is safe for concurrent use.
type Log struct {
	dir string
	mu  sync.Mutex
	f   *os.File
	seg uint64
}

// Open opens the log in dir (created if missing) for appending to a new
// segment after the existing ones.
func Open(dir string) (*Log, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	segs, err := segments(dir)
	if err != nil {
		return nil, err
	}
	l := &Log{dir: dir}
	if len(segs) > 0 {
		l.seg = segs[len(segs)-1]
	}
	if err := l.next(); err != nil {
		return nil, err
	}
	return l, nil
}

func segName(n uint64) string { return fmt.Sprintf("%020d.wal", n) }

// segments lists the segment numbers in dir, in order.
func segments(dir string) ([]uint64, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("wal: %w", err)
	}
	var out []uint64
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".wal")
		if !ok {
			continue
		}
		if n, err := strconv.ParseUint(name, 10, 64); err == nil {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// next starts a new segment; l.mu is held (or l is not shared yet).
func (l *Log) next() error {
	l.seg++
	f, err := os.OpenFile(filepath.Join(l.dir, segName(l.seg)), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	if err := syncDir(l.dir); err != nil {
		f.Close()
		return err
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f = f
	return nil
}

// Append writes one record and fsyncs it. Once it returns nil, the record
// survives a crash.
func (l *Log) Append(first uint64, payload []byte) error {
	buf := make([]byte, headerLen+len(payload))
	binary.LittleEndian.PutUint32(buf[0:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(buf[8:], first)
	copy(buf[headerLen:], payload)
	binary.LittleEndian.PutUint32(buf[4:], crc32.Checksum(buf[8:], crcTable))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("wal: closed")
	}
	// Where the record starts: the end of the file (the file offset is no
	// guide once a failed append was cut off).
	st, err := l.f.Stat()
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	off := st.Size()
	if _, err := l.f.Write(buf); err != nil {
		// Cut a partial record off, so the next append starts clean.
		_ = l.f.Truncate(off)
		return fmt.Errorf("wal: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		_ = l.f.Truncate(off)
		return fmt.Errorf("wal: %w", err)
	}
	return nil
}

// Rotate starts a new segment and returns the names of the earlier ones:
// every record appended before Rotate is in them.
func (l *Log) Rotate() ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.next(); err != nil {
		return nil, err
	}
	segs, err := segments(l.dir)
	if err != nil {
		return nil, err
	}
	var old []string
	for _, n := range segs {
		if n < l.seg {
			old = append(old, filepath.Join(l.dir, segName(n)))
		}
	}
	return old, nil
}

// Remove deletes segments returned by Rotate.
func (l *Log) Remove(segs []string) error {
	for _, s := range segs {
		if err := os.Remove(s); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("wal: %w", err)
		}
	}
	return syncDir(l.dir)
}

// Close closes the current segment.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Replay calls fn for every record in dir, in order. A torn record at the
// end of the last segment is cut off (it was never acknowledged).
func Replay(dir string, fn func(first uint64, payload []byte) error) error {
	segs, err := segments(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	for i, n := range segs {
		path := filepath.Join(dir, segName(n))
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("wal: %w", err)
		}
		off := 0
		for off < len(data) {
			ok := len(data)-off >= headerLen
			var size int
			if ok {
				size = int(binary.LittleEndian.Uint32(data[off:]))
				ok = len(data)-off-headerLen >= size &&
					crc32.Checksum(data[off+8:off+headerLen+size], crcTable) == binary.LittleEndian.Uint32(data[off+4:])
			}
			if !ok {
				if i < len(segs)-1 && !emptyAfter(segs[i+1:], dir) {
					return fmt.Errorf("%w: %s at byte %d", ErrCorrupt, path, off)
				}
				if err := os.Truncate(path, int64(off)); err != nil {
					return fmt.Errorf("wal: %w", err)
				}
				break
			}
			first := binary.LittleEndian.Uint64(data[off+8:])
			if err := fn(first, data[off+headerLen:off+headerLen+size]); err != nil {
				return err
			}
			off += headerLen + size
		}
	}
	return nil
}

// emptyAfter reports whether the segments after a damaged one hold nothing
// (a crash right after a rotation leaves an empty new segment).
func emptyAfter(segs []uint64, dir string) bool {
	for _, n := range segs {
		if st, err := os.Stat(filepath.Join(dir, segName(n))); err != nil || st.Size() > 0 {
			return false
		}
	}
	return true
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("wal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("wal: sync %s: %w", dir, err)
	}
	return nil
}
