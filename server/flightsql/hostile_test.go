package flightsql_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/flight"
	fsql "github.com/apache/arrow-go/v18/arrow/flight/flightsql"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/qry-dev/qry/engine"
	"github.com/qry-dev/qry/internal/fixture"
	"github.com/qry-dev/qry/server/auth"
	"github.com/qry-dev/qry/server/flightsql"
)

// hostileData is a data directory with one CSV table and, inside the table
// root, a symlink to /etc.
func hostileData(t *testing.T) string {
	dir := t.TempDir()
	fixture.Write(t, filepath.Join(dir, "t", "a.csv"), "id,v\n1,x\n2,y\n")
	require.NoError(t, os.Symlink("/etc", filepath.Join(dir, "t", "etc")))
	return dir
}

// runSQL runs a statement to its end and returns the error, if any.
func (e *env) runSQL(ctx context.Context, q string) error {
	info, err := e.client.Execute(ctx, q)
	if err != nil {
		return err
	}
	for _, ep := range info.Endpoint {
		rd, err := e.client.DoGet(ctx, ep.Ticket)
		if err != nil {
			return err
		}
		for rd.Next() {
		}
		err = rd.Err()
		rd.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

func TestHostileStatements(t *testing.T) {
	data := hostileData(t)
	e := startWith(t, []string{data},
		engine.Options{Sandbox: true, MemoryLimit: "256MB", MaxTempSize: "64MB", MaxConns: 3},
		flightsql.Options{QueryTimeout: 3 * time.Second, MaxSQLBytes: 1 << 20},
		flightsql.ServeOptions{}, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallSendMsgSize(64<<20)))
	ctx := context.Background()
	deep := strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000)
	for _, tc := range []struct {
		name, sql string
		codes     []codes.Code
	}{
		{"read_csv /etc/passwd", "SELECT * FROM read_csv('/etc/passwd')", []codes.Code{codes.PermissionDenied}},
		{"read_text", "SELECT * FROM read_text('/etc/hosts')", []codes.Code{codes.PermissionDenied}},
		{"glob", "SELECT * FROM glob('/*')", []codes.Code{codes.PermissionDenied}},
		{"relative parent path", "SELECT * FROM read_parquet('../../x.parquet')", []codes.Code{codes.PermissionDenied}},
		{"path as a table", "SELECT * FROM '/etc/passwd'", []codes.Code{codes.PermissionDenied}},
		{"symlink out of the root", "SELECT * FROM read_csv('" + filepath.Join(data, "t", "etc", "passwd") + "')", []codes.Code{codes.PermissionDenied}},
		{"symlink out of the root as a table", "SELECT * FROM '" + filepath.Join(data, "t", "etc", "passwd") + "'", []codes.Code{codes.PermissionDenied}},
		{"file function in a subquery", "SELECT * FROM t WHERE v IN (SELECT content FROM read_text('/etc/hostname'))", []codes.Code{codes.PermissionDenied}},
		{"COPY", "COPY t TO '/tmp/qry-hostile.csv'", []codes.Code{codes.PermissionDenied}},
		{"COPY into the root", "COPY t TO '" + filepath.Join(data, "t", "b.csv") + "'", []codes.Code{codes.PermissionDenied}},
		{"EXPORT", "EXPORT DATABASE '/tmp/qry-hostile'", []codes.Code{codes.PermissionDenied}},
		{"ATTACH", "ATTACH '/tmp/qry-hostile.db' AS x", []codes.Code{codes.PermissionDenied}},
		{"INSTALL", "INSTALL spatial", []codes.Code{codes.PermissionDenied}},
		{"LOAD", "LOAD spatial", []codes.Code{codes.PermissionDenied}},
		{"SET", "SET threads = 1", []codes.Code{codes.PermissionDenied}},
		{"PRAGMA", "PRAGMA enable_profiling", []codes.Code{codes.PermissionDenied}},
		{"RESET", "RESET threads", []codes.Code{codes.PermissionDenied}},
		{"CREATE", "CREATE TABLE x AS SELECT 1", []codes.Code{codes.PermissionDenied}},
		{"DROP", "DROP VIEW t", []codes.Code{codes.PermissionDenied}},
		{"CALL", "CALL pragma_version()", []codes.Code{codes.PermissionDenied}},
		{"two statements", "SELECT 1; COPY t TO '/tmp/qry-hostile2.csv'", []codes.Code{codes.InvalidArgument, codes.PermissionDenied}},
		{"10 MB of SQL", "SELECT '" + strings.Repeat("x", 10<<20) + "'", []codes.Code{codes.ResourceExhausted}},
		{"deeply nested", "SELECT " + deep, []codes.Code{codes.InvalidArgument, codes.ResourceExhausted}},
		{"long chain", "SELECT " + strings.Repeat("1+", 100000) + "1", []codes.Code{codes.InvalidArgument, codes.ResourceExhausted}},
		{"memory bomb", "SELECT list(i) FROM range(1000000000) r(i)", []codes.Code{codes.ResourceExhausted, codes.DeadlineExceeded, codes.InvalidArgument}},
		{"cartesian join", "SELECT a.i, b.i FROM range(200000) a(i), range(200000) b(i) ORDER BY a.i * b.i DESC", []codes.Code{codes.ResourceExhausted, codes.DeadlineExceeded}},
		{"sort bomb", "SELECT i, repeat('x', 50) FROM range(200000000) a(i) ORDER BY i % 997, i DESC", []codes.Code{codes.ResourceExhausted, codes.DeadlineExceeded, codes.InvalidArgument}},
		{"runs forever", "SELECT count(*) FROM range(1000000000000) a(i) WHERE i % 7 = 3", []codes.Code{codes.DeadlineExceeded}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			err := e.runSQL(ctx, tc.sql)
			require.Error(t, err)
			require.Contains(t, tc.codes, status.Code(err), "%v", err)
			require.Less(t, time.Since(start), 20*time.Second)
			require.NoError(t, e.runSQL(ctx, "SELECT count(*) FROM t"), "the server still answers")
		})
	}
	// Nothing was written.
	_, err := os.Stat(filepath.Join(data, "t", "b.csv"))
	require.True(t, os.IsNotExist(err))
	_, err = os.Stat("/tmp/qry-hostile.csv")
	require.True(t, os.IsNotExist(err))
}

func TestClientThatNeverReads(t *testing.T) {
	e := startWith(t, []string{hostileData(t)}, engine.Options{Sandbox: true, MaxConns: 2},
		flightsql.Options{QueryTimeout: 2 * time.Second}, flightsql.ServeOptions{},
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	info, err := e.client.Execute(ctx, "SELECT i, repeat('x', 100) FROM range(100000000) r(i)")
	require.NoError(t, err)
	stalled, err := e.client.DoGet(ctx, info.Endpoint[0].Ticket) // opened, never read
	require.NoError(t, err)
	defer stalled.Release()
	for i := 0; i < 5; i++ {
		require.NoError(t, e.runSQL(context.Background(), "SELECT count(*) FROM t"))
	}
	// The stalled query ends at the timeout and frees its connection.
	waitRunning(t, e.srv, 0)
}

func TestQueueBound(t *testing.T) {
	e := startWith(t, []string{hostileData(t)}, engine.Options{MaxConns: 1, MaxQueue: 1},
		flightsql.Options{}, flightsql.ServeOptions{}, grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := context.Background()
	hold, drop := context.WithCancel(ctx)
	info, err := e.client.Execute(ctx, endless)
	require.NoError(t, err)
	rd, err := e.client.DoGet(hold, info.Endpoint[0].Ticket)
	require.NoError(t, err)
	require.True(t, rd.Next()) // holds the only connection
	waiting := make(chan error, 1)
	go func() { waiting <- e.runSQL(ctx, "SELECT 1") }() // the one queued
	require.Eventually(t, func() bool { return e.srv.Running() == 1 && e.eng.Waiting() == 1 }, time.Minute, 5*time.Millisecond)
	err = e.runSQL(ctx, "SELECT 2")
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	drop() // the holder hangs up: the queued query runs
	rd.Release()
	require.NoError(t, <-waiting)
}

func TestResultSizeLimit(t *testing.T) {
	e := startWith(t, []string{hostileData(t)}, engine.Options{MaxResultRows: 100000}, flightsql.Options{},
		flightsql.ServeOptions{}, grpc.WithTransportCredentials(insecure.NewCredentials()))
	err := e.runSQL(context.Background(), "SELECT * FROM range(1000000)")
	require.Equal(t, codes.ResourceExhausted, status.Code(err), "%v", err)
	require.NoError(t, e.runSQL(context.Background(), "SELECT * FROM range(1000)"))
}

func TestTokens(t *testing.T) {
	tokens, err := auth.ParseTokens("alice:" + strings.Repeat("a", 24) + ", bob:" + strings.Repeat("b", 24) +
		"\n# an expired one\ncarol:" + strings.Repeat("c", 24) + ":2020-01-31")
	require.NoError(t, err)
	e := startWith(t, []string{hostileData(t)}, engine.Options{Sandbox: true}, flightsql.Options{},
		flightsql.ServeOptions{Middleware: []flight.ServerMiddleware{flightsql.AuthMiddleware(tokens)}},
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	ctx := context.Background()
	// No token: nothing, not even the table list.
	_, err = e.client.Execute(ctx, "SELECT 1")
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	_, err = e.client.GetTables(ctx, &fsql.GetTablesOpts{})
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	// A wrong token, and an expired one.
	for _, tok := range []string{strings.Repeat("d", 24), strings.Repeat("c", 24)} {
		bad := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tok)
		_, err = e.client.Execute(bad, "SELECT 1")
		require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)
	}
	// A right token.
	good := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+strings.Repeat("b", 24))
	require.NoError(t, e.runSQL(good, "SELECT count(*) FROM t"))
	// Basic auth handshake: name and token give a bearer token.
	authed, err := e.client.Client.AuthenticateBasicToken(ctx, "alice", strings.Repeat("a", 24))
	require.NoError(t, err)
	require.NoError(t, e.runSQL(authed, "SELECT 1"))
	_, err = e.client.Client.AuthenticateBasicToken(ctx, "alice", strings.Repeat("b", 24))
	require.Equal(t, codes.Unauthenticated, status.Code(err), "%v", err)

	_, err = auth.ParseTokens("alice:short")
	require.ErrorIs(t, err, auth.ErrTokens)
	require.NotContains(t, err.Error(), "short", "tokens are never echoed")
}

func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "qry test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}, IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSAndMutualTLS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t)
	cfg, err := auth.TLSConfig(certFile, keyFile, certFile) // the same CA signs clients
	require.NoError(t, err)
	clientCert, err := tls.LoadX509KeyPair(certFile, keyFile)
	require.NoError(t, err)
	e := startWith(t, []string{hostileData(t)}, engine.Options{}, flightsql.Options{}, flightsql.ServeOptions{TLS: cfg},
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{clientCert}})))
	require.NoError(t, e.runSQL(context.Background(), "SELECT count(*) FROM t"))

	// Plaintext to the TLS port fails cleanly; so does TLS without a client
	// certificate. The server goes on.
	plain, err := fsql.NewClient(e.addr, nil, nil, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = plain.Execute(ctx, "SELECT 1")
	require.Error(t, err)
	plain.Close()
	noCert, err := fsql.NewClient(e.addr, nil, nil, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	require.NoError(t, err)
	_, err = noCert.Execute(ctx, "SELECT 1")
	require.Error(t, err)
	noCert.Close()
	require.NoError(t, e.runSQL(context.Background(), "SELECT 1"))
}
