package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// make run's script: it starts voipd with the embedded room server, joins a
// room, prints a URL that serves the browser client, and exits 0 on SIGTERM
// within its deadline.
func TestMakeRunScript(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	runDir := shortDir(t)
	cmd := exec.Command("bash", filepath.Join("..", "..", "scripts", "run.sh"))
	cmd.Env = append(os.Environ(), "VOIPD_BIN="+binDir, "VOIPD_RUN_LISTEN="+listen, "VOIPD_RUN_DIR="+runDir, "VOIPD_RUN_DISPLAY=127.0.0.1:0", "PULSE_SERVER=unix:/nonexistent")
	stdout, _ := cmd.StdoutPipe()
	var stderr syncBuf
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, stdout)
	}()
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })

	var url string
	var out []string
	timeout := time.After(60 * time.Second)
	for url == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("run.sh ended before printing a URL:\n%s\n%s", strings.Join(out, "\n"), stderr.String())
			}
			out = append(out, l)
			if s := strings.TrimSpace(l); strings.HasPrefix(s, "http://") {
				url = s
			}
		case <-timeout:
			t.Fatalf("no URL within 60 s:\n%s\n%s", strings.Join(out, "\n"), stderr.String())
		}
	}
	t.Logf("run.sh printed %s", url)
	if !strings.Contains(strings.Join(out, "\n"), "synthetic 440 Hz tone") {
		t.Errorf("run.sh did not say it uses the synthetic tone without a sound server:\n%s", strings.Join(out, "\n"))
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "<html") {
		t.Fatalf("GET %s: %d %.200s", url, resp.StatusCode, body)
	}
	st, errOut, code := voipctl(t, "-socket", filepath.Join(runDir, "control.sock"), "status")
	var status map[string]any
	if code != 0 || json.Unmarshal([]byte(st), &status) != nil || status["state"] != "inRoom" {
		t.Fatalf("status: exit %d %s %s", code, st, errOut)
	}
	capture := status["devices"].(map[string]any)["capture"].(map[string]any)
	if capture["synthetic"] != true {
		t.Fatalf("make run's tone is not reported synthetic: %v", capture)
	}
	if cam, _ := status["devices"].(map[string]any)["camera"].(map[string]any); cam["synthetic"] != true || cam["state"] != "open" {
		t.Fatalf("make run's pattern camera is not reported open and synthetic: %v", cam)
	}

	t0 := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("run.sh exited with %v after SIGTERM\n%s", err, stderr.String())
		}
		t.Logf("exited 0 %v after SIGTERM", time.Since(t0))
	case <-time.After(15 * time.Second):
		t.Fatalf("run.sh did not exit within 15 s of SIGTERM")
	}
}
