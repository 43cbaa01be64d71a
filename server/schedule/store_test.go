package schedule_test

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/server/catalog"
	"github.com/sluice-ml/sluice/server/schedule"
	"github.com/sluice-ml/sluice/store/azureblob"
	"github.com/sluice-ml/sluice/store/datastore"
	"github.com/sluice-ml/sluice/store/state"
)

func TestMain(m *testing.M) {
	code := m.Run()
	azuritetest.Stop()
	os.Exit(code)
}

// azuriteResolver opens every container of the Azurite account with its key.
func azuriteResolver(az *azuritetest.Server) *datastore.Resolver {
	r := &datastore.Resolver{}
	r.SetBlobOpener(func(ctx context.Context, u datastore.URI) (datastore.Datastore, error) {
		return azureblob.New(ctx, azureblob.Config{Account: u.Account, Container: u.Container, Endpoint: az.Endpoint,
			Auth: azureblob.AuthSharedKey, Secret: az.Key})
	})
	return r
}

func put(t *testing.T, s datastore.Datastore, name, body string) {
	t.Helper()
	w, err := s.Create(context.Background(), name, datastore.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(body)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// A Blob prefix watched on Azurite: each new or changed blob starts exactly one run with its
// full azblob:// URI bound; a re-upload of the same content starts none; blobs uploaded while
// the server is down are picked up after the restart, and nothing fires twice.
func TestBlobPrefixTriggerFiresOncePerNewOrChangedBlobAcrossRestarts(t *testing.T) {
	t.Parallel()
	az := azuritetest.Shared(t)
	data := azuriteResolver(az)
	store, err := azureblob.New(context.Background(), azureblob.Config{Account: azuritetest.Account, Container: "watched",
		Endpoint: az.Endpoint, Auth: azureblob.AuthSharedKey, Secret: az.Key})
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "azblob://" + azuritetest.Account + "/watched/inbox"
	w := newWorld(t)
	scheduler := func() *schedule.Scheduler {
		cat, err := catalog.New(catalog.Config{Workspace: w.ws, Root: w.root, Owner: "server",
			Datastores: []string{"azblob://" + azuritetest.Account + "/watched"}})
		if err != nil {
			t.Fatal(err)
		}
		s, err := schedule.New(schedule.Config{Workspace: w.ws, Catalog: cat, Owner: "server",
			Now: func() time.Time { return time.Now() },
			Watchers: map[string]func(string) (schedule.Watcher, error){
				"azblob": func(uri string) (schedule.Watcher, error) { return schedule.NewStore(data, uri) },
			}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	runs := func() []string {
		t.Helper()
		rs, err := w.ws.FindRuns(context.Background(), state.RunFilter{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			if r.Status != state.Queued {
				t.Fatalf("run %s is %s: %s", r.ID, r.Status, r.Message)
			}
			out = append(out, strings.TrimPrefix(r.Parameters["file"], prefix+"/"))
		}
		sort.Strings(out)
		return out
	}
	s := scheduler()

	// Only prefixes inside the workspace's datastores may be watched.
	for _, bad := range []string{"azblob://" + azuritetest.Account + "/other/inbox", "azblob://elsewhere/watched/inbox"} {
		sch := &state.Schedule{Pipeline: "ingest", Kind: state.ScheduleDatastore, WatchPath: bad, Parameter: "file"}
		if err := s.Validate(context.Background(), sch); !errors.Is(err, catalog.ErrForbiddenPath) {
			t.Fatalf("watch %s: %v, want ErrForbiddenPath", bad, err)
		}
	}
	// A malformed URI is invalid (422), whatever it would point at.
	for _, bad := range []string{"azblob://" + azuritetest.Account + "/watched/../other", "azblob://" + azuritetest.Account + "/watched/in?x=1"} {
		sch := &state.Schedule{Pipeline: "ingest", Kind: state.ScheduleDatastore, WatchPath: bad, Parameter: "file"}
		if err := s.Validate(context.Background(), sch); !errors.Is(err, schedule.ErrInvalid) {
			t.Fatalf("watch %s: %v, want ErrInvalid", bad, err)
		}
	}
	sch := &state.Schedule{Pipeline: "ingest", Kind: state.ScheduleDatastore, WatchPath: prefix + "/", Parameter: "file"}
	if err := s.Validate(context.Background(), sch); err != nil {
		t.Fatal(err)
	}
	if sch.WatchPath != prefix {
		t.Fatalf("watch path %q, want the canonical %q", sch.WatchPath, prefix)
	}
	if err := w.ws.CreateSchedule(context.Background(), sch); err != nil {
		t.Fatal(err)
	}
	put(t, store, "inbox/a.txt", "a")
	put(t, store, "inbox/sub/b.txt", "b")
	put(t, store, "inbox/.hidden", "h")
	put(t, store, "inbox/c.part", "partial")
	put(t, store, "inboxx/z.txt", "next door")
	put(t, store, "elsewhere/y.txt", "y")

	w.tick(s) // first sight: not settled yet
	if got := runs(); len(got) != 0 {
		t.Fatalf("fired before the blobs settled: %v", got)
	}
	w.tick(s)
	if got := runs(); !eq(got, "a.txt", "sub/b.txt") {
		t.Fatalf("after settling: %v", got)
	}
	w.tick(s)
	w.tick(s)
	if got := runs(); len(got) != 2 {
		t.Fatalf("fired again for unchanged blobs: %v", got)
	}
	files, err := (&schedule.Store{Data: data, URI: prefix}).Scan(context.Background())
	if err != nil || len(files) != 2 || files[0].Path != prefix+"/a.txt" || !strings.HasPrefix(files[0].Version, "md5:") {
		t.Fatalf("scan: %+v %v", files, err)
	}

	// The same content uploaded again: a new ETag, the same MD5: nothing fires. New content does, once.
	put(t, store, "inbox/a.txt", "a")
	w.tick(s)
	w.tick(s)
	if got := runs(); len(got) != 2 {
		t.Fatalf("a re-upload of the same content fired: %v", got)
	}
	put(t, store, "inbox/a.txt", "a, changed")
	w.tick(s)
	w.tick(s)
	w.tick(s)
	if got := runs(); !eq(got, "a.txt", "a.txt", "sub/b.txt") {
		t.Fatalf("after a change: %v", got)
	}

	// The server goes down; blobs arrive meanwhile; a new process starts.
	w.ws.Close()
	put(t, store, "inbox/d.txt", "d")
	put(t, store, "inbox/sub/deeper/e.txt", "e")
	w.open()
	s2 := scheduler()
	if err := s2.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		w.tick(s2)
	}
	if got := runs(); !eq(got, "a.txt", "a.txt", "d.txt", "sub/b.txt", "sub/deeper/e.txt") {
		t.Fatalf("after the restart: %v", got)
	}
	rs, _ := w.ws.FindRuns(context.Background(), state.RunFilter{Limit: 1000})
	for _, r := range rs {
		if f := r.Parameters["file"]; !strings.HasPrefix(f, prefix+"/") {
			t.Fatalf("run %s: file %q is not the blob's full URI", r.ID, f)
		}
	}
}

func TestStoreWatcherRefusesBadLocations(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"azblob://a/c", "azblob://acct1/cont/x/../y", "azblob://acct1/cont/x?sv=1", "s3://acct1/cont"} {
		if _, err := schedule.NewStore(nil, bad); !errors.Is(err, schedule.ErrInvalid) {
			t.Errorf("NewStore(%q): %v, want ErrInvalid", bad, err)
		}
	}
	// Without a Blob opener the scan fails, naming the location; it does not panic.
	st, err := schedule.NewStore(nil, "azblob://acct1/cont/in")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Scan(context.Background()); err == nil || !strings.Contains(err.Error(), "azblob://acct1/cont/in") {
		t.Fatalf("scan without an opener: %v", err)
	}
}
