// Package storage is where data files live: local directories, and
// object stores that speak S3's API (AWS S3, SeaweedFS, MinIO, Ceph RGW,
// R2, GCS's interoperability endpoint). It lists objects with their sizes,
// ETags and modification times, reads them, and tells DuckDB how to reach
// them (a secret for its httpfs extension). It knows nothing of tables or
// SQL; the catalog and the engine use it.
//
// Credentials and endpoint follow the AWS conventions (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_PROFILE, the
// shared config and credentials files, AWS_ENDPOINT_URL), resolved by the
// AWS SDK for Go; Config overrides them (qry.yaml's storage: section).
// Secrets are never logged: Config's String redacts them.
package storage

import (
	"strings"
	"time"
)

// Scheme is the prefix of object-store URLs.
const Scheme = "s3://"

// Object is a file or an object.
type Object struct {
	// Path is an absolute local path or an s3://bucket/key URL.
	Path    string
	Size    int64
	ModTime time.Time
	// ETag is the object store's version tag ("" for local files).
	ETag string
}

// IsRemote reports whether path is an object-store URL.
func IsRemote(path string) bool { return strings.HasPrefix(path, Scheme) }

// Split splits an s3:// URL into bucket and key.
func Split(url string) (bucket, key string) {
	rest := strings.TrimPrefix(url, Scheme)
	bucket, key, _ = strings.Cut(rest, "/")
	return bucket, key
}

// Join joins a prefix URL and a relative key with one slash.
func Join(prefix, rel string) string {
	return strings.TrimSuffix(prefix, "/") + "/" + strings.TrimPrefix(rel, "/")
}
