package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRangesCoverEveryNumericKey: every int and Duration key of Config has
// a Range, and every Range names one; a key added without one fails here.
func TestRangesCoverEveryNumericKey(t *testing.T) {
	var keys []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		sec := ct.Field(i)
		for j := range sec.Type.NumField() {
			f := sec.Type.Field(j)
			if k := f.Type.Kind(); k == reflect.Int || k == reflect.Int64 {
				keys = append(keys, sec.Tag.Get("toml")+"."+f.Tag.Get("toml"))
			}
		}
	}
	var ranged []string
	for _, r := range Ranges {
		ranged = append(ranged, r.Key)
	}
	slices.Sort(keys)
	slices.Sort(ranged)
	if !slices.Equal(keys, ranged) {
		t.Fatalf("numeric keys %v\nbut Ranges has %v", keys, ranged)
	}
}

// TestRangesAtLoad: every numeric key's lowest and highest value load,
// and the values just outside are refused at load with the key named.
func TestRangesAtLoad(t *testing.T) {
	for _, r := range Ranges {
		_, dur := Default().Number(r.Key)
		step := int64(1)
		if dur {
			step = int64(time.Millisecond)
		}
		edges := []int64{r.Min}
		outside := []int64{r.Min - step}
		if r.Max != Unbounded {
			edges = append(edges, r.Max)
			outside = append(outside, r.Max+step)
		}
		for _, v := range edges {
			file := EdgeFile(r.Key, v)
			c, err := Parse([]byte(file))
			if err != nil {
				t.Errorf("%s = %d refused: %v\n%s", r.Key, v, err, file)
				continue
			}
			if got, _ := c.Number(r.Key); got != v {
				t.Errorf("%s = %d loaded as %d", r.Key, v, got)
			}
		}
		for _, v := range outside {
			file := EdgeFile(r.Key, v)
			_, err := Parse([]byte(file))
			if err == nil || !strings.Contains(err.Error(), r.Key+":") {
				t.Errorf("%s = %d: %v, want a refusal naming the key\n%s", r.Key, v, err, file)
			}
		}
	}
}
