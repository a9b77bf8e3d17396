package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"

	"github.com/qry-dev/qry/fault"
)

// ErrStorage is wrapped by failures to reach or read an object store.
var ErrStorage = fault.New(fault.IO, "object store")

// Config overrides the AWS conventions for an S3-compatible store. Empty
// fields keep what the environment and the shared files say.
type Config struct {
	// Endpoint is the store's URL (AWS_ENDPOINT_URL): http:// means no TLS.
	// Set, it also means path-style addressing (bucket in the path), as
	// S3-compatible servers expect.
	Endpoint string
	Region   string
	Profile  string
	// KeyID and Secret (and SessionToken) are static credentials.
	KeyID, Secret, SessionToken string
	// Timeout bounds each request, and a read that stalls (0:
	// DefaultTimeout).
	Timeout time.Duration
}

// DefaultTimeout is how long a request to object storage may take, or a
// read stall, before it fails.
const DefaultTimeout = 30 * time.Second

// String describes the configuration without its secrets.
func (c Config) String() string {
	key := ""
	if c.KeyID != "" {
		key = " key_id=" + redact(c.KeyID)
	}
	return fmt.Sprintf("endpoint=%q region=%q profile=%q timeout=%s%s", c.Endpoint, c.Region, c.Profile, c.timeout(), key)
}

func (c Config) timeout() time.Duration {
	if c.Timeout <= 0 {
		return DefaultTimeout
	}
	return c.Timeout
}

func redact(s string) string {
	if len(s) <= 4 {
		return "****"
	}
	return s[:4] + "****"
}

// S3 is an S3-compatible object store.
type S3 struct {
	client   *s3.Client
	aws      aws.Config
	endpoint string
	timeout  time.Duration
}

// OpenS3 resolves credentials, region and endpoint as the AWS SDK does,
// with cfg's overrides.
func OpenS3(ctx context.Context, cfg Config) (*S3, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(cfg.Profile))
	}
	opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(cfg.timeout())))
	if cfg.KeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(cfg.KeyID, cfg.Secret, cfg.SessionToken)))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: configuration: %w", ErrStorage, err)
	}
	if ac.Region == "" {
		ac.Region = "us-east-1"
	}
	endpoint := cfg.Endpoint
	if endpoint == "" && ac.BaseEndpoint != nil {
		endpoint = *ac.BaseEndpoint
	}
	client := s3.NewFromConfig(ac, func(o *s3.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
		}
	})
	return &S3{client: client, aws: ac, endpoint: endpoint, timeout: cfg.timeout()}, nil
}

// List lists the objects under a prefix URL (s3://bucket/prefix/),
// recursively, in key order.
func (s *S3) List(ctx context.Context, prefix string) ([]Object, error) {
	bucket, key := Split(prefix)
	if key != "" && !strings.HasSuffix(key, "/") {
		key += "/"
	}
	var out []Object
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(key)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.fail("list", prefix, err)
		}
		for _, o := range page.Contents {
			out = append(out, Object{Path: Scheme + bucket + "/" + aws.ToString(o.Key), Size: aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified), ETag: strings.Trim(aws.ToString(o.ETag), `"`)})
		}
	}
	return out, nil
}

// Stat describes one object.
func (s *S3) Stat(ctx context.Context, path string) (Object, error) {
	bucket, key := Split(path)
	h, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return Object{}, s.fail("stat", path, err)
	}
	return Object{Path: path, Size: aws.ToInt64(h.ContentLength), ModTime: aws.ToTime(h.LastModified), ETag: strings.Trim(aws.ToString(h.ETag), `"`)}, nil
}

// Open reads an object; with n > 0, only its first n bytes (a range
// request).
func (s *S3) Open(ctx context.Context, path string, n int64) (io.ReadCloser, error) {
	bucket, key := Split(path)
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if n > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=0-%d", n-1))
	}
	out, err := s.client.GetObject(ctx, in)
	if err != nil {
		return nil, s.fail("read", path, err)
	}
	return out.Body, nil
}

// Put writes an object from a local file (PutObject: up to 5 GB).
func (s *S3) Put(ctx context.Context, path string, f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	bucket, key := Split(path)
	_, err = s.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key),
		Body: f, ContentLength: aws.Int64(st.Size())})
	if err != nil {
		return s.fail("write", path, err)
	}
	return nil
}

// Copy copies an object within the store (CopyObject: up to 5 GB); the
// copy is whole or absent.
func (s *S3) Copy(ctx context.Context, from, to string) error {
	fb, fk := Split(from)
	tb, tk := Split(to)
	// URL-encoded, slashes kept; a plus is encoded too, as some servers
	// decode it as a space.
	src := fb + "/" + strings.NewReplacer("%2F", "/", "+", "%2B").Replace(url.PathEscape(fk))
	_, err := s.client.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String(tb), Key: aws.String(tk), CopySource: aws.String(src)})
	if err != nil {
		return s.fail("copy "+from+" to", to, err)
	}
	return nil
}

// Delete removes an object; a missing one is no error.
func (s *S3) Delete(ctx context.Context, path string) error {
	bucket, key := Split(path)
	if _, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		if err := s.fail("delete", path, err); !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// fail words an SDK error in one line that names the object and what the
// store said.
func (s *S3) fail(op, path string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		if code := ae.ErrorCode(); code == "NotFound" || code == "NoSuchKey" {
			return fmt.Errorf("%w: %s %s: %w", ErrStorage, op, path, fs.ErrNotExist)
		}
		return fmt.Errorf("%w: %s %s: %s: %s", ErrStorage, op, path, ae.ErrorCode(), ae.ErrorMessage())
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %s %s: %s", ErrStorage, op, path, oneLine(err.Error()))
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// DuckDBSecret is the statement that gives DuckDB's httpfs extension the
// same credentials, region and endpoint (a temporary secret, in memory).
// It holds secrets: run it, never log it.
func (s *S3) DuckDBSecret(ctx context.Context) (string, error) {
	creds, err := s.aws.Credentials.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("%w: credentials: %s", ErrStorage, oneLine(err.Error()))
	}
	q := func(v string) string { return "'" + strings.ReplaceAll(v, "'", "''") + "'" }
	parts := []string{"TYPE s3", "KEY_ID " + q(creds.AccessKeyID), "SECRET " + q(creds.SecretAccessKey), "REGION " + q(s.aws.Region)}
	if creds.SessionToken != "" {
		parts = append(parts, "SESSION_TOKEN "+q(creds.SessionToken))
	}
	if s.endpoint != "" {
		u, err := url.Parse(s.endpoint)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("%w: endpoint %q is not a URL", ErrStorage, s.endpoint)
		}
		parts = append(parts, "ENDPOINT "+q(u.Host), "URL_STYLE 'path'", fmt.Sprintf("USE_SSL %t", u.Scheme != "http"))
	}
	return "CREATE OR REPLACE TEMPORARY SECRET qry_s3 (" + strings.Join(parts, ", ") + ")", nil
}

// DuckDBSettings are the settings DuckDB's httpfs reads the store with:
// the timeout (in whole seconds) of each request and read stall.
func (s *S3) DuckDBSettings() string {
	return fmt.Sprintf("SET GLOBAL http_timeout = %d", max(1, int(s.timeout.Round(time.Second)/time.Second)))
}

// Unmap turns the HTTP URLs DuckDB's httpfs names objects by in its
// messages (the endpoint's path-style URL, or AWS's virtual-host one) back
// into s3://bucket/key, the names the catalog and the user know.
func (s *S3) Unmap(msg string) string {
	var b strings.Builder
	for {
		i := strings.Index(msg, "http")
		if i < 0 {
			b.WriteString(msg)
			return b.String()
		}
		b.WriteString(msg[:i])
		rest := msg[i:]
		end := strings.IndexAny(rest, "'\" ")
		if end < 0 {
			end = len(rest)
		}
		if obj, ok := s.object(rest[:end]); ok {
			b.WriteString(obj)
		} else {
			b.WriteString(rest[:end])
		}
		msg = rest[end:]
	}
}

// object is the s3:// name of an httpfs URL, or false.
func (s *S3) object(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	path := strings.TrimPrefix(u.Path, "/")
	if s.endpoint != "" {
		e, err := url.Parse(s.endpoint)
		if err != nil || e.Host != u.Host {
			return "", false
		}
		return Scheme + path, true
	}
	bucket, _, ok := strings.Cut(u.Host, ".s3.")
	if !ok || !strings.HasSuffix(u.Host, ".amazonaws.com") {
		bucket, _, ok = strings.Cut(u.Host, ".s3-")
		if !ok {
			return "", false
		}
	}
	return Scheme + bucket + "/" + path, true
}
