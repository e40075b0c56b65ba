package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/voipd/voipd/internal/metrics"
)

// TestMetricsListen (issue 17): -metrics-listen serves roomd's series and
// the process and Go collectors on a loopback address, and a public one is
// refused naming the rule.
func TestMetricsListen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	er, ew := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-app-id", "a", "-app-secret", "s", "-metrics-listen", "127.0.0.1:0"}, io.Discard, ew, noEnv)
		ew.Close()
	}()
	found := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg=metrics url=(http://127\.0\.0\.1:\d+/metrics)`)
		s := bufio.NewScanner(er)
		for s.Scan() {
			if m := re.FindStringSubmatch(s.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	var url string
	select {
	case url = <-found:
	case <-time.After(10 * time.Second):
		t.Fatal("roomd logged no metrics URL")
	}
	f, err := metrics.Scrape(url)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"roomd_rooms", "roomd_members", "roomd_forwarded_packets_total", "process_resident_memory_bytes", "go_goroutines"} {
		if _, ok := f.Value(name); !ok {
			t.Errorf("scrape lacks %s", name)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}

	var errb bytes.Buffer
	code := run(context.Background(), []string{"-listen", "127.0.0.1:0", "-app-id", "a", "-app-secret", "s", "-metrics-listen", "0.0.0.0:9464"}, io.Discard, &errb, noEnv)
	if code != 1 || !strings.Contains(errb.String(), "-metrics-listen") || !strings.Contains(errb.String(), "loopback") {
		t.Errorf("a public metrics address: exit %d, %s", code, errb.String())
	}
}
