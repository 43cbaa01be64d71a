package azureblob

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"golang.org/x/sync/errgroup"

	"github.com/sluice-ml/sluice/internal/secret"
	"github.com/sluice-ml/sluice/store/datastore"
)

// AuthKind says how requests are authorized.
type AuthKind string

// The credential kinds.
const (
	AuthSharedKey        AuthKind = "shared_key"        // Secret: the account key
	AuthSAS              AuthKind = "sas"               // Secret: the SAS query string (without '?')
	AuthConnectionString AuthKind = "connection_string" // Secret: the connection string (its endpoint wins)
	AuthDefault          AuthKind = "default"           // azidentity.DefaultAzureCredential (environment, managed identity, Azure CLI...)
	AuthAnonymous        AuthKind = "anonymous"         // public read access
)

// Config describes one container.
type Config struct {
	Account   string
	Container string
	// Endpoint is the account's Blob service URL; default https://ACCOUNT.blob.core.windows.net.
	// Azurite: http://127.0.0.1:PORT/ACCOUNT.
	Endpoint string
	Auth     AuthKind
	Secret   string // the credential's value, per Auth; never logged
	// BlockSize of parallel uploads and downloads (default 4 MiB) and Concurrency, the blocks in
	// flight per file (default 8).
	BlockSize   int64
	Concurrency int
	// Retry tunes the SDK's retries (default: 6 tries, 200 ms doubling to 10 s).
	Retry policy.RetryOptions
	// Transport replaces the HTTP client (tests).
	Transport policy.Transporter
}

// Store is a container as a datastore.
type Store struct {
	cfg  Config
	c    *container.Client
	once sync.Once // container creation, tried once before the first write
}

// New connects to a container; it makes no request. Errors never carry the secret.
func New(ctx context.Context, cfg Config) (*Store, error) {
	_ = ctx
	if cfg.Endpoint == "" {
		cfg.Endpoint = "https://" + cfg.Account + ".blob.core.windows.net"
	}
	cfg.Endpoint = strings.TrimSuffix(cfg.Endpoint, "/")
	if cfg.BlockSize <= 0 {
		cfg.BlockSize = 4 << 20
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Retry.MaxRetries == 0 {
		cfg.Retry = policy.RetryOptions{MaxRetries: 6, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: 10 * time.Second}
	}
	secret.Add(cfg.Secret)
	opts := &container.ClientOptions{ClientOptions: azcore.ClientOptions{Retry: cfg.Retry}}
	if cfg.Transport != nil {
		opts.Transport = cfg.Transport
	}
	url := cfg.Endpoint + "/" + cfg.Container
	var c *container.Client
	var err error
	switch cfg.Auth {
	case AuthSharedKey:
		var cred *container.SharedKeyCredential
		cred, err = container.NewSharedKeyCredential(cfg.Account, cfg.Secret)
		if err == nil {
			c, err = container.NewClientWithSharedKeyCredential(url, cred, opts)
		}
	case AuthSAS:
		c, err = container.NewClientWithNoCredential(url+"?"+strings.TrimPrefix(cfg.Secret, "?"), opts)
	case AuthConnectionString:
		c, err = container.NewClientFromConnectionString(cfg.Secret, cfg.Container, opts)
	case AuthDefault:
		var cred *azidentity.DefaultAzureCredential
		cred, err = azidentity.NewDefaultAzureCredential(nil)
		if err == nil {
			c, err = container.NewClient(url, cred, opts)
		}
	case AuthAnonymous, "":
		c, err = container.NewClientWithNoCredential(url, opts)
	default:
		return nil, fmt.Errorf("azure blob %s/%s: unknown auth %q", cfg.Account, cfg.Container, cfg.Auth)
	}
	if err != nil {
		// The SDK's parse errors may quote the credential: never pass them on as they are.
		return nil, fmt.Errorf("azure blob %s/%s: %s credential: %w", cfg.Account, cfg.Container, cfg.Auth, secret.Error(err))
	}
	return &Store{cfg: cfg, c: c}, nil
}

// URI is azblob://ACCOUNT/CONTAINER.
func (s *Store) URI() string {
	return datastore.URI{Scheme: datastore.SchemeBlob, Account: s.cfg.Account, Container: s.cfg.Container}.String()
}

// wrap maps SDK errors: not-found codes to datastore.ErrNotFound, and masks secrets.
func (s *Store) wrap(op, name string, err error) error {
	if err == nil {
		return nil
	}
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound, bloberror.ResourceNotFound) {
		return fmt.Errorf("%s %s/%s: %w", op, s.URI(), name, datastore.ErrNotFound)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		// The SDK's message is long (it quotes the request and the whole response); keep the code.
		return secret.Error(fmt.Errorf("%s %s/%s: HTTP %d %s: %w", op, s.URI(), name, re.StatusCode, re.ErrorCode, errShort{err}))
	}
	return secret.Error(fmt.Errorf("%s %s/%s: %w", op, s.URI(), name, err))
}

// errShort wraps an SDK error so that errors.Is/As still reach it, printing only its first line.
type errShort struct{ err error }

func (e errShort) Error() string {
	msg := e.err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return msg
}
func (e errShort) Unwrap() error { return e.err }

func (s *Store) ensureContainer(ctx context.Context) {
	s.once.Do(func() {
		// Errors are ignored: the container may exist, or the credential may not allow creating
		// containers; the write that follows reports any real problem.
		_, _ = s.c.Create(ctx, nil)
	})
}

// Open downloads an object as a stream that resumes after dropped connections (from the byte it
// stopped at, pinned to the object's ETag so that a concurrent overwrite is an error, not a mix).
// When the object has a Content-MD5, reading it to the end checks it: a mismatch makes the last
// Read fail with datastore.ErrChecksum.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := datastore.CleanName(name); err != nil {
		return nil, err
	}
	resp, err := s.c.NewBlobClient(name).DownloadStream(ctx, nil)
	if err != nil {
		return nil, s.wrap("read", name, err)
	}
	body := resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: 5})
	if len(resp.ContentMD5) == 0 {
		return body, nil
	}
	return &md5Reader{rc: body, want: resp.ContentMD5, h: md5.New(), name: s.URI() + "/" + name}, nil
}

type md5Reader struct {
	rc   io.ReadCloser
	want []byte
	h    interface {
		io.Writer
		Sum([]byte) []byte
	}
	name string
}

func (r *md5Reader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	r.h.Write(p[:n])
	if err == io.EOF {
		if got := r.h.Sum(nil); !bytes.Equal(got, r.want) {
			return n, fmt.Errorf("%s: content MD5 %s, stored %s: %w", r.name, hex.EncodeToString(got),
				hex.EncodeToString(r.want), datastore.ErrChecksum)
		}
	}
	return n, err
}

func (r *md5Reader) Close() error { return r.rc.Close() }

// Create streams an upload in blocks (each with a CRC64 the service checks) and commits the
// block list on Close, with the content's MD5 as Content-MD5 (opts.MD5 if given, else computed
// while streaming). Canceling ctx before Close abandons the upload; nothing is committed.
func (s *Store) Create(ctx context.Context, name string, opts datastore.CreateOptions) (io.WriteCloser, error) {
	if err := datastore.CleanName(name); err != nil {
		return nil, err
	}
	s.ensureContainer(ctx)
	pr, pw := io.Pipe()
	w := &blobWriter{pw: pw, done: make(chan error, 1), h: md5.New()}
	bb := s.c.NewBlockBlobClient(name)
	go func() {
		// The MD5 of streamed data is known only at the end: stage the blocks, then commit with it.
		_, err := bb.UploadStream(ctx, io.TeeReader(pr, w.h), &blockblob.UploadStreamOptions{
			BlockSize: s.cfg.BlockSize, Concurrency: s.cfg.Concurrency,
			TransactionalValidation: blob.TransferValidationTypeComputeCRC64(),
		})
		if err == nil {
			sum := opts.MD5
			if sum == nil {
				sum = w.h.Sum(nil)
			}
			_, err = bb.SetHTTPHeaders(ctx, blob.HTTPHeaders{BlobContentMD5: sum}, nil)
		}
		pr.CloseWithError(err)
		w.done <- s.wrap("write", name, err)
	}()
	return w, nil
}

type blobWriter struct {
	pw     *io.PipeWriter
	done   chan error
	h      hash.Hash
	closed bool
	err    error
}

func (w *blobWriter) Write(p []byte) (int, error) { return w.pw.Write(p) }

func (w *blobWriter) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	w.pw.Close()
	w.err = <-w.done
	return w.err
}

// UploadFile uploads a local file in parallel blocks of Config.BlockSize, Config.Concurrency at a
// time, each with a transactional CRC64; the blob's Content-MD5 is opts.MD5 or computed from the
// file first. The blob is replaced only when every block arrived.
func (s *Store) UploadFile(ctx context.Context, name, localPath string, opts datastore.CreateOptions) error {
	if err := datastore.CleanName(name); err != nil {
		return err
	}
	s.ensureContainer(ctx)
	f, err := os.Open(localPath)
	if err != nil {
		return err
	}
	defer f.Close()
	sum := opts.MD5
	if sum == nil {
		h := md5.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		sum = h.Sum(nil)
	}
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return s.wrap("upload", name, s.uploadBlocks(ctx, s.c.NewBlockBlobClient(name), f, st.Size(), sum))
}

// uploadBlocks sends a file as one Put Blob when it fits in a block, else stages its blocks in
// parallel (each with a CRC64 the service checks) and commits the list with the file's MD5.
func (s *Store) uploadBlocks(ctx context.Context, bb *blockblob.Client, f io.ReaderAt, size int64, sum []byte) error {
	hdr := &blob.HTTPHeaders{BlobContentMD5: sum}
	if size <= s.cfg.BlockSize {
		_, err := bb.Upload(ctx, readSeekNopCloser{io.NewSectionReader(f, 0, size)}, &blockblob.UploadOptions{
			HTTPHeaders: hdr, TransactionalValidation: blob.TransferValidationTypeMD5(sum)})
		return err
	}
	idBytes := make([]byte, 12)
	if _, err := rand.Read(idBytes); err != nil {
		return err
	}
	prefix := hex.EncodeToString(idBytes)
	n := int((size + s.cfg.BlockSize - 1) / s.cfg.BlockSize)
	ids := make([]string, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Concurrency)
	for i := range n {
		ids[i] = base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%s-%06d", prefix, i)))
		g.Go(func() error {
			off := int64(i) * s.cfg.BlockSize
			body := readSeekNopCloser{io.NewSectionReader(f, off, min(s.cfg.BlockSize, size-off))}
			_, err := bb.StageBlock(gctx, ids[i], body, &blockblob.StageBlockOptions{
				TransactionalValidation: blob.TransferValidationTypeComputeCRC64()})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	_, err := bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{HTTPHeaders: hdr})
	return err
}

type readSeekNopCloser struct{ io.ReadSeeker }

func (readSeekNopCloser) Close() error { return nil }

// DownloadFile downloads an object into localPath with parallel ranged reads, then checks the
// file against the object's Content-MD5 when it has one (datastore.ErrChecksum on mismatch).
func (s *Store) DownloadFile(ctx context.Context, name, localPath string) error {
	if err := datastore.CleanName(name); err != nil {
		return err
	}
	f, err := os.Create(localPath)
	if err != nil {
		return err
	}
	defer f.Close()
	bc := s.c.NewBlobClient(name)
	props, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return s.wrap("download", name, err)
	}
	_, err = bc.DownloadFile(ctx, f, &blob.DownloadFileOptions{
		BlockSize: s.cfg.BlockSize, Concurrency: uint16(s.cfg.Concurrency),
		RetryReaderOptionsPerBlock: blob.RetryReaderOptions{MaxRetries: 5},
		// Pin every range to the version we saw: an overwrite midway fails instead of mixing.
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: props.ETag}},
	})
	if err != nil {
		return s.wrap("download", name, err)
	}
	if len(props.ContentMD5) > 0 {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		h := md5.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		if got := h.Sum(nil); !bytes.Equal(got, props.ContentMD5) {
			return fmt.Errorf("download %s/%s: content MD5 %x, stored %x: %w", s.URI(), name, got, props.ContentMD5, datastore.ErrChecksum)
		}
	}
	return nil
}

// List lists blobs by name (the service's order), 5,000 per page.
func (s *Store) List(ctx context.Context, prefix string, fn func(datastore.Info) error) error {
	pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: &prefix})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if bloberror.HasCode(err, bloberror.ContainerNotFound) {
				return nil // an absent container holds nothing
			}
			return s.wrap("list", prefix, err)
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil || it.Properties == nil {
				continue
			}
			in := datastore.Info{Name: *it.Name, MD5: it.Properties.ContentMD5}
			if it.Properties.ContentLength != nil {
				in.Size = *it.Properties.ContentLength
			}
			if it.Properties.LastModified != nil {
				in.ModTime = *it.Properties.LastModified
			}
			if it.Properties.ETag != nil {
				in.ETag = string(*it.Properties.ETag)
			}
			if err := fn(in); err != nil {
				return err
			}
		}
	}
	return nil
}

// Stat reads a blob's properties.
func (s *Store) Stat(ctx context.Context, name string) (datastore.Info, error) {
	if err := datastore.CleanName(name); err != nil {
		return datastore.Info{}, err
	}
	p, err := s.c.NewBlobClient(name).GetProperties(ctx, nil)
	if err != nil {
		var re *azcore.ResponseError
		if errors.As(err, &re) && re.StatusCode == http.StatusNotFound {
			return datastore.Info{}, fmt.Errorf("stat %s/%s: %w", s.URI(), name, datastore.ErrNotFound)
		}
		return datastore.Info{}, s.wrap("stat", name, err)
	}
	in := datastore.Info{Name: name, MD5: p.ContentMD5}
	if p.ContentLength != nil {
		in.Size = *p.ContentLength
	}
	if p.LastModified != nil {
		in.ModTime = *p.LastModified
	}
	if p.ETag != nil {
		in.ETag = string(*p.ETag)
	}
	return in, nil
}

// Delete removes a blob (and its snapshots).
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := datastore.CleanName(name); err != nil {
		return err
	}
	_, err := s.c.NewBlobClient(name).Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to(blob.DeleteSnapshotsOptionTypeInclude)})
	if bloberror.HasCode(err, bloberror.BlobNotFound, bloberror.ContainerNotFound) {
		return nil
	}
	return s.wrap("delete", name, err)
}

func to[T any](v T) *T { return &v }

var (
	_ datastore.Datastore      = (*Store)(nil)
	_ datastore.FileUploader   = (*Store)(nil)
	_ datastore.FileDownloader = (*Store)(nil)
)
