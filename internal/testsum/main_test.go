package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestSummary(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"a","Test":"T1"}`,
		`{"Action":"output","Package":"a","Test":"T1","Output":"=== RUN T1\n"}`,
		`{"Action":"pass","Package":"a","Test":"T1"}`,
		`{"Action":"pass","Package":"a","Elapsed":0.5}`,
		`{"Action":"output","Package":"b","Output":"?   \tb\t[no test files]\n"}`,
		`{"Action":"skip","Package":"b"}`,
	}, "\n")
	var out bytes.Buffer
	if code := run(strings.NewReader(in), &out); code != 0 {
		t.Fatalf("exit %d:\n%s", code, out.String())
	}
	if !strings.HasSuffix(out.String(), "1 passed, 0 failed, 0 skipped\n") {
		t.Fatalf("closing line wrong:\n%s", out.String())
	}
}

func TestSilentPackageAndSkipsFail(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"skip","Package":"a","Test":"T1"}`,
		`{"Action":"pass","Package":"a","Elapsed":0.1}`,
	}, "\n")
	var out bytes.Buffer
	if code := run(strings.NewReader(in), &out); code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, out.String())
	}
	for _, w := range []string{"ran no test: a", "1 tests skipped", "0 passed, 0 failed, 1 skipped"} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
}

func TestFailurePropagates(t *testing.T) {
	in := `{"Action":"fail","Package":"a","Test":"T"}` + "\n" + `{"Action":"fail","Package":"a"}`
	var out bytes.Buffer
	if code := run(strings.NewReader(in), &out); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
}
