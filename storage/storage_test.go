package storage

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitJoin(t *testing.T) {
	b, k := Split("s3://lake/sample/trips/a.parquet")
	require.Equal(t, "lake", b)
	require.Equal(t, "sample/trips/a.parquet", k)
	require.Equal(t, "s3://lake/sample/x", Join("s3://lake/sample/", "/x"))
	require.True(t, IsRemote("s3://x/"))
	require.False(t, IsRemote("/data/s3:/x"))
}

// DuckDB's secret carries what the SDK resolved: the keys, the region, and
// an endpoint's host with TLS off for http:// and path-style URLs.
func TestDuckDBSecret(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_ENDPOINT_URL", "")
	ctx := context.Background()
	cfg := Config{Endpoint: "http://127.0.0.1:8333", Region: "eu-west-3", KeyID: "AKIDEXAMPLE", Secret: "it's-secret"}
	s, err := OpenS3(ctx, cfg)
	require.NoError(t, err)
	got, err := s.DuckDBSecret(ctx)
	require.NoError(t, err)
	require.Equal(t, "CREATE OR REPLACE TEMPORARY SECRET qry_s3 (TYPE s3, KEY_ID 'AKIDEXAMPLE', SECRET 'it''s-secret', REGION 'eu-west-3', "+
		"ENDPOINT '127.0.0.1:8333', URL_STYLE 'path', USE_SSL false)", got)
	require.NotContains(t, cfg.String(), "it's-secret")
	require.NotContains(t, cfg.String(), "AKIDEXAMPLE")

	// AWS: no endpoint, TLS on by DuckDB's default.
	s, err = OpenS3(ctx, Config{Region: "us-east-2", KeyID: "K", Secret: "S", SessionToken: "T"})
	require.NoError(t, err)
	got, err = s.DuckDBSecret(ctx)
	require.NoError(t, err)
	require.Equal(t, "CREATE OR REPLACE TEMPORARY SECRET qry_s3 (TYPE s3, KEY_ID 'K', SECRET 'S', REGION 'us-east-2', SESSION_TOKEN 'T')", got)
}

// Unmap names objects as s3://bucket/key in httpfs's messages, with the
// key decoded, for an endpoint's path-style URLs and AWS's virtual hosts.
func TestUnmap(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_ENDPOINT_URL", "")
	ctx := context.Background()
	s, err := OpenS3(ctx, Config{Endpoint: "http://127.0.0.1:8333", KeyID: "k", Secret: "s"})
	require.NoError(t, err)
	require.Equal(t, "error for HTTP HEAD to 's3://lake/t/year=2023/a b.parquet' (404)",
		s.Unmap("error for HTTP HEAD to 'http://127.0.0.1:8333/lake/t/year%3D2023/a%20b.parquet' (404)"))
	require.Equal(t, "see https://duckdb.org/docs", s.Unmap("see https://duckdb.org/docs"))
	aws, err := OpenS3(ctx, Config{Region: "eu-west-1", KeyID: "k", Secret: "s"})
	require.NoError(t, err)
	require.Equal(t, "reading 's3://my-bucket/x/y.parquet'", aws.Unmap("reading 'https://my-bucket.s3.eu-west-1.amazonaws.com/x/y.parquet'"))
}
