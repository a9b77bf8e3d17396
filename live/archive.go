//go:build duckdb_arrow

package live

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/qry-dev/qry/storage"
)

// archive is where a writable table's Parquet files live: a local
// directory, or a prefix on object storage. Files are named relative to
// it with slashes (day=2024-05-01/part-....parquet). A tick or compaction
// writes each file under a temporary name (tmpPrefix, which the catalog
// does not list), records the renames in the journal, then promotes them.
type archive interface {
	// path is a file's name as the catalog lists it.
	path(rel string) string
	// rel is path's inverse.
	rel(path string) (string, error)
	// write makes the file rel, durably, from what fill writes.
	write(ctx context.Context, rel string, fill func(io.Writer) error) error
	// promote moves temporary files to their final names, durably. Done
	// again after a crash, it finishes what was left.
	promote(ctx context.Context, renames [][2]string) error
	// exists reports whether the file rel is there.
	exists(ctx context.Context, rel string) (bool, error)
	// remove deletes files; one already gone is no error.
	remove(ctx context.Context, rels []string) error
	// cleanTemp deletes the temporary files of an unfinished tick or
	// compaction.
	cleanTemp(ctx context.Context) error
}

// ObjectStore is what a table on object storage needs of its store.
type ObjectStore interface {
	List(ctx context.Context, prefix string) ([]storage.Object, error)
	Stat(ctx context.Context, path string) (storage.Object, error)
	Put(ctx context.Context, path string, f *os.File) error
	Copy(ctx context.Context, from, to string) error
	Delete(ctx context.Context, path string) error
}

var _ ObjectStore = (*storage.S3)(nil)

// localArchive is a directory.
type localArchive struct{ root string }

var _ archive = localArchive{}

func (a localArchive) path(rel string) string { return filepath.Join(a.root, rel) }

func (a localArchive) rel(path string) (string, error) { return filepath.Rel(a.root, path) }

func (a localArchive) write(_ context.Context, rel string, fill func(io.Writer) error) (err error) {
	path := a.path(rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	return f.Sync()
}

func (a localArchive) promote(_ context.Context, renames [][2]string) error {
	dirs := map[string]bool{}
	for _, r := range renames {
		tmp, final := a.path(r[0]), a.path(r[1])
		if err := os.Rename(tmp, final); err != nil {
			if _, serr := os.Stat(final); errors.Is(err, fs.ErrNotExist) && serr == nil {
				continue // renamed before a crash
			}
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("tick journal: neither %s nor %s exists", tmp, final)
			}
			return err
		}
		dirs[filepath.Dir(final)] = true
	}
	for d := range dirs {
		if err := syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

func (a localArchive) exists(_ context.Context, rel string) (bool, error) {
	_, err := os.Stat(a.path(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (a localArchive) remove(_ context.Context, rels []string) error {
	dirs := map[string]bool{}
	for _, r := range rels {
		p := a.path(r)
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		dirs[filepath.Dir(p)] = true
	}
	for d := range dirs {
		_ = syncDir(d)
	}
	return nil
}

func (a localArchive) cleanTemp(context.Context) error {
	return filepath.WalkDir(a.root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == WALDirName {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), tmpPrefix) {
			return os.Remove(path)
		}
		return nil
	})
}

// objectArchive is a prefix on object storage (root ends in a slash).
// A file is written locally in staging, then uploaded whole; a promotion
// is a server-side copy, then the temporary object's deletion.
type objectArchive struct {
	store   ObjectStore
	root    string
	staging string // a local directory
}

var _ archive = objectArchive{}

func (a objectArchive) path(rel string) string { return storage.Join(a.root, filepath.ToSlash(rel)) }

func (a objectArchive) rel(path string) (string, error) {
	if !strings.HasPrefix(path, a.root) {
		return "", fmt.Errorf("%s is not under %s", path, a.root)
	}
	return strings.TrimPrefix(path, a.root), nil
}

func (a objectArchive) write(ctx context.Context, rel string, fill func(io.Writer) error) error {
	if err := os.MkdirAll(a.staging, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(a.staging, "upload-*.parquet")
	if err != nil {
		return err
	}
	defer func() {
		f.Close()
		_ = os.Remove(f.Name())
	}()
	if err := fill(f); err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	return a.store.Put(ctx, a.path(rel), f)
}

func (a objectArchive) promote(ctx context.Context, renames [][2]string) error {
	for _, r := range renames {
		tmp, final := a.path(r[0]), a.path(r[1])
		if err := a.store.Copy(ctx, tmp, final); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			// Copied, and the temporary object deleted, before a crash.
			if ok, serr := a.exists(ctx, r[1]); serr != nil {
				return serr
			} else if !ok {
				return fmt.Errorf("tick journal: neither %s nor %s exists", tmp, final)
			}
			continue
		}
		if err := a.store.Delete(ctx, tmp); err != nil {
			return err
		}
	}
	return nil
}

func (a objectArchive) exists(ctx context.Context, rel string) (bool, error) {
	_, err := a.store.Stat(ctx, a.path(rel))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (a objectArchive) remove(ctx context.Context, rels []string) error {
	for _, r := range rels {
		if err := a.store.Delete(ctx, a.path(r)); err != nil {
			return err
		}
	}
	return nil
}

func (a objectArchive) cleanTemp(ctx context.Context) error {
	_ = os.RemoveAll(a.staging)
	objs, err := a.store.List(ctx, a.root)
	if err != nil {
		return err
	}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Path, a.root)
		if strings.HasPrefix(rel[strings.LastIndex(rel, "/")+1:], tmpPrefix) {
			if err := a.store.Delete(ctx, o.Path); err != nil {
				return err
			}
		}
	}
	return nil
}
