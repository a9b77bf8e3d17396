package main_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qry-dev/qry/internal/fixture"
)

// qry query over a data root on a real S3-compatible server prints what it
// prints over a local copy of the same files; credentials come from the
// AWS variables, the endpoint from --s3-endpoint.
func TestQueryObjectStorage(t *testing.T) {
	srv := fixture.S3(t)
	srv.Upload(t, "lake", "sample/", sampleDir(t))
	ext := fixture.ExtensionDir(t)
	env := append(os.Environ(), "AWS_ACCESS_KEY_ID="+srv.KeyID, "AWS_SECRET_ACCESS_KEY="+srv.Secret,
		"AWS_CONFIG_FILE="+filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "none"))
	q := "SELECT year, payment, count(*) AS n, round(sum(fare), 4) AS fares FROM trips WHERE month <= 3 GROUP BY ALL ORDER BY ALL"
	runQ := func(data string, extra ...string) (string, string, error) {
		args := append([]string{"query", "--cache-dir", t.TempDir(), "--extension-dir", ext, "-d", data, "-F", "csv"}, extra...)
		cmd := exec.Command(qryBin, append(args, q)...)
		cmd.Env = env
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	want, stderr, err := runQ(sampleDir(t))
	require.NoError(t, err, stderr)
	for _, sandbox := range []string{"--sandbox=false", "--sandbox=true"} {
		got, stderr, err := runQ("s3://lake/sample/", "--s3-endpoint", srv.Endpoint, sandbox)
		require.NoError(t, err, stderr)
		require.Equal(t, want, got, sandbox)
		require.NotContains(t, stderr, srv.Secret)
	}

	// Wrong credentials: one line naming the root and what the server said.
	cmd := exec.Command(qryBin, "query", "--cache-dir", t.TempDir(), "--extension-dir", ext, "-d", "s3://lake/sample/", "--s3-endpoint", srv.Endpoint, q)
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+srv.KeyID, "AWS_SECRET_ACCESS_KEY=wrong-secret-0000000000",
		"AWS_CONFIG_FILE="+filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "none"))
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err = cmd.Run()
	require.Error(t, err)
	require.Contains(t, errb.String(), "s3://lake/sample/")
	require.Contains(t, errb.String(), "SignatureDoesNotMatch")
	require.Equal(t, 1, bytes.Count(bytes.TrimSpace(errb.Bytes()), []byte("\n"))+1, errb.String())

	// A missing bucket: named.
	_, stderr, err = runQ("s3://nobucket/x/", "--s3-endpoint", srv.Endpoint)
	require.Error(t, err)
	require.Contains(t, stderr, "s3://nobucket/x/")
	require.Contains(t, stderr, "NoSuchBucket")
}
