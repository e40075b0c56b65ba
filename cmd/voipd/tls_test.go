package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/voipd/voipd/daemon/config"
	"github.com/voipd/voipd/roomd"
)

// roomd over TLS with a certificate from the test's own CA: two daemons
// join over wss:// with that CA configured (room.caFile), hear each other,
// and their media runs over roomd's single UDP port.
func TestJoinOverTLSOnOneUDPPort(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeTestPKI(t, dir)
	udp := freeUDPPort(t)
	srv, secret := testRoomd(t, func(c *roomd.Config) {
		c.TLSCert, c.TLSKey = certFile, keyFile
		c.UDPPort = udp
	})
	url := wsURL(srv.URL())
	if url[:6] != "wss://" {
		t.Fatalf("roomd with a certificate serves %s, want wss://", url)
	}
	withCA := func(c *config.Config) { c.Room.CAFile = caFile }
	a := startNode(t, "tls-a", url, secret, 440, withCA)
	b := startNode(t, "tls-b", url, secret, 1000, withCA)
	a.ctl.mustOK("joinVoIPChat", a.joinParams("secure"))
	b.ctl.mustOK("joinVoIPChat", b.joinParams("secure"))
	eventually(t, 15*time.Second, "a hears b over TLS signalling", func() bool { return a.audio.heard(1000, 440) > 20 })
	eventually(t, 15*time.Second, "b hears a", func() bool { return b.audio.heard(440, 1000) > 20 })
	for _, n := range []*node{a, b} {
		st := n.ctl.mustOK("status", nil)
		net := st["room"].(map[string]any)["network"].(map[string]any)
		if int(net["remotePort"].(float64)) != udp {
			t.Fatalf("%s's media goes to %v, want roomd's UDP port %d", n.openid, net["remoteCandidate"], udp)
		}
	}

	// Without the CA the same server is refused, and says why.
	c := startNode(t, "tls-c", url, secret, 660, nil)
	ans := c.ctl.call("joinVoIPChat", c.joinParams("secure"))
	if ans.Error == nil || ans.Error.Code != -1000 {
		t.Fatalf("join without the CA: %+v", ans)
	}
	if ans.Error.Data["reason"] != "unreachable" {
		t.Fatalf("join without the CA: reason %v, want unreachable", ans.Error.Data["reason"])
	}
	t.Logf("without the CA: %s", ans.Error.Message)
}

func freeUDPPort(t testing.TB) int {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// writeTestPKI makes a CA and a server certificate for 127.0.0.1 signed by
// it, and writes ca.pem, cert.pem and key.pem (mode 600) into dir.
func writeTestPKI(t testing.TB, dir string) (ca, cert, key string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "voipd test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	srvKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(srvKey)
	ca, cert, key = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write := func(path, typ string, der []byte, mode os.FileMode) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(ca, "CERTIFICATE", caDER, 0o644)
	write(cert, "CERTIFICATE", srvDER, 0o644)
	write(key, "EC PRIVATE KEY", keyDER, 0o600)
	return ca, cert, key
}
