package azuritetest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/internal/testenv"
)

// Account is the storage account the emulator serves.
const Account = "sluicetest"

// Server is a running Azurite.
type Server struct {
	Endpoint string // http://127.0.0.1:PORT/sluicetest
	Addr     string // 127.0.0.1:PORT
	Key      string // the account key (base64)
	cmd      *exec.Cmd
	out      *bytes.Buffer
}

// ConnectionString for the account.
func (s *Server) ConnectionString() string {
	return fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=%s;", Account, s.Key, s.Endpoint)
}

var shared struct {
	sync.Mutex
	s   *Server
	err error
}

// Binary finds azurite-blob; "" when absent.
func Binary() string {
	if b := os.Getenv("AZURITE_BIN"); b != "" {
		return b
	}
	if b, err := exec.LookPath("azurite-blob"); err == nil {
		return b
	}
	dir, _ := os.Getwd()
	for dir != "" && dir != "/" {
		b := filepath.Join(dir, ".tools", "azurite", "node_modules", ".bin", "azurite-blob")
		if _, err := os.Stat(b); err == nil {
			return b
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

// Shared returns the package-wide Azurite, starting it on first use; it skips t when Azurite is not
// installed. Call Stop from TestMain.
func Shared(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		testenv.Missing(t, "azurite not installed: run scripts/setup-azurite.sh (npm azurite into .tools/azurite) or set AZURITE_BIN")
	}
	shared.Lock()
	defer shared.Unlock()
	if shared.s == nil && shared.err == nil {
		shared.s, shared.err = start(bin)
	}
	if shared.err != nil {
		t.Fatalf("starting azurite: %v", shared.err)
	}
	return shared.s
}

// Stop ends the shared Azurite, if it was started.
func Stop() {
	shared.Lock()
	defer shared.Unlock()
	if shared.s != nil {
		shared.s.stop()
		shared.s = nil
	}
}

func start(bin string) (*Server, error) {
	key := make([]byte, 64)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	s := &Server{Key: base64.StdEncoding.EncodeToString(key), out: &bytes.Buffer{}}
	for try := 0; try < 3; try++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", "azurite-")
		if err != nil {
			return nil, err
		}
		s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
		s.Endpoint = "http://" + s.Addr + "/" + Account
		s.out.Reset()
		cmd := exec.Command(bin, "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port),
			"--skipApiVersionCheck", "--disableTelemetry", "--inMemoryPersistence", "--loose", "--silent")
		cmd.Dir = dir // anything Azurite writes (debug logs) stays out of the repository
		cmd.Env = append(os.Environ(), "AZURITE_ACCOUNTS="+Account+":"+s.Key)
		cmd.Stdout, cmd.Stderr = s.out, s.out
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		s.cmd = cmd
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
		// Node takes a second or two to start; wait for the port (bounded, generous for slow machines).
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-exited:
				goto retry
			default:
			}
			if c, err := net.DialTimeout("tcp", s.Addr, time.Second); err == nil {
				c.Close()
				return s, nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		s.stop()
		return nil, fmt.Errorf("azurite did not listen on %s within 60s: %s", s.Addr, s.out.String())
	retry:
	}
	return nil, fmt.Errorf("azurite exited at start: %s", s.out.String())
}

func (s *Server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FaultyProxy forwards TCP connections to target and cuts every nth connection after it carried
// cut bytes (from the client), so requests fail midway as on a flaky network. Close stops it.
type FaultyProxy struct {
	Addr string
	l    net.Listener
	mu   sync.Mutex
	n    int
	// Dropped counts the connections cut.
	Dropped int
}

// NewFaultyProxy starts a proxy on a free loopback port.
func NewFaultyProxy(t testing.TB, target string, every int, cut int64) *FaultyProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &FaultyProxy{Addr: l.Addr().String(), l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.n++
			drop := every > 0 && p.n%every == 0
			if drop {
				p.Dropped++
			}
			p.mu.Unlock()
			go p.serve(c, target, drop, cut)
		}
	}()
	t.Cleanup(func() { l.Close() })
	return p
}

// Drops reports how many connections were cut.
func (p *FaultyProxy) Drops() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Dropped
}

func (p *FaultyProxy) serve(c net.Conn, target string, drop bool, cut int64) {
	defer c.Close()
	u, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer u.Close()
	done := make(chan struct{}, 2)
	go func() { io.Copy(c, u); done <- struct{}{} }()
	go func() {
		if drop {
			io.CopyN(u, c, cut)
		} else {
			io.Copy(u, c)
		}
		done <- struct{}{}
	}()
	<-done
}
