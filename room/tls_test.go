package room_test

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
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/room"
	"github.com/voipd/voipd/roomd"
)

// testPKI makes a CA and a server certificate for 127.0.0.1, writes the
// server's PEM files and returns their paths and a pool holding the CA.
func testPKI(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "roomd test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "roomd"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	pool = x509.NewCertPool()
	pool.AddCert(ca)
	return certFile, keyFile, pool
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// Signalling over wss:// with a private CA; media over the configured UDP
// port only.
func TestTLSAndSingleUDPPort(t *testing.T) {
	certFile, keyFile, pool := testPKI(t)
	port := freeUDPPort(t)
	srv := startServer(t, func(c *roomd.Config) {
		c.TLSCert, c.TLSKey, c.UDPPort = certFile, keyFile, port
		// A public address is announced too; the loopback one still works.
		c.PublicIPs = []string{"203.0.113.7"}
	})
	if !strings.HasPrefix(srv.URL(), "https://") {
		t.Fatalf("URL() = %s, want https", srv.URL())
	}
	tlsCfg := &tls.Config{RootCAs: pool}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsCfg}, Timeout: 5 * time.Second}
	resp, err := hc.Get(srv.URL() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	url := "wss://" + srv.Addr() + "/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	// Without the CA the handshake fails: the client really checks.
	if _, err := room.Join(ctx, room.Config{URL: url, JoinTimeout: 2 * time.Second}, params("x", "tls"), newRecorder()); err == nil {
		t.Fatal("join without the CA succeeded")
	}
	ra, rb := newRecorder(), newRecorder()
	a, err := room.Join(ctx, room.Config{URL: url, TLS: tlsCfg}, params("alice", "tls"), ra)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Leave(context.Background())
	b, err := room.Join(ctx, room.Config{URL: url, TLS: tlsCfg}, params("bob", "tls"), rb)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Leave(context.Background())
	go sendAudio(ctx, t, a, "alice")
	go sendAudio(ctx, t, b, "bob")
	rb.waitPacketFrom(t, "alice")
	ra.waitPacketFrom(t, "bob")
	for name, s := range map[string]*room.Session{"alice": a, "bob": b} {
		if st := s.Stats(); st.RemotePort != port {
			t.Errorf("%s's media uses %q, want UDP port %d", name, st.RemoteCandidate, port)
		}
	}
	if srv.UDPPort() != port {
		t.Errorf("UDPPort() = %d, want %d", srv.UDPPort(), port)
	}
}

// After members leave and the server closes, no goroutine of roomd, room
// or pion is left behind.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		srv, err := roomd.New(roomd.Config{Listen: "127.0.0.1:0", Apps: []roomd.App{testApp}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := srv.Start(ctx); err != nil {
			t.Fatal(err)
		}
		ra, rb := newRecorder(), newRecorder()
		a := join(t, srv, "alice", "leak", ra)
		b := join(t, srv, "bob", "leak", rb)
		sctx, scancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { sendAudio(sctx, t, a, "alice"); close(done) }()
		rb.waitPacketFrom(t, "alice")
		scancel()
		<-done
		b.Leave(ctx)
		srv.Close()
		a.Leave(ctx) // after Close: the server is gone already
		ra.wg.Wait()
		rb.wg.Wait()
	}()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:n])
		}
		time.Sleep(50 * time.Millisecond)
	}
}
