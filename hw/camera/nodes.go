//go:build linux

package camera

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// node is one /dev/videoN with the stable names udev made for it.
type node struct {
	path  string   // <root>/videoN, as found
	real  string   // path with symlinks resolved, to compare with links
	id    string   // the by-id link's name, else the by-path link's, else path
	links []string // every by-id and by-path link to it (full paths)
}

// matches reports whether id names this node: its id, its path or node
// name ("video0"), or any of its links by full path or name.
func (n *node) matches(id string) bool {
	if id == n.id || id == n.path || id == n.real || id == filepath.Base(n.path) {
		return true
	}
	for _, l := range n.links {
		if id == l || id == filepath.Base(l) {
			return true
		}
	}
	// Any other path that resolves to the node (a link of the caller's).
	if strings.Contains(id, "/") {
		if r, err := filepath.EvalSymlinks(id); err == nil && r == n.real {
			return true
		}
	}
	return false
}

// nodes lists the video nodes under root in node-number order (video2
// before video10), each with its stable id. udev's by-id names (bus, vendor,
// model, serial) survive replugging into another port, by-path names
// (the port) survive swapping two identical cameras, and the node number
// survives neither: hence the order of preference. A missing v4l directory
// (no udev, or no camera with a serial) is not an error.
func nodes(root string) ([]node, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var out []node
	for _, e := range entries {
		num, ok := strings.CutPrefix(e.Name(), "video")
		if !ok {
			continue
		}
		if _, err := strconv.Atoi(num); err != nil {
			continue
		}
		p := filepath.Join(root, e.Name())
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue // vanished while listing
		}
		out = append(out, node{path: p, real: real})
	}
	slices.SortFunc(out, func(a, b node) int { return nodeNumber(a.path) - nodeNumber(b.path) })
	for _, dir := range []string{"v4l/by-id", "v4l/by-path"} {
		links, _ := os.ReadDir(filepath.Join(root, dir)) // sorted by name
		for _, l := range links {
			full := filepath.Join(root, dir, l.Name())
			target, err := filepath.EvalSymlinks(full)
			if err != nil {
				continue // dangling: the camera went away
			}
			for i := range out {
				if out[i].real == target {
					out[i].links = append(out[i].links, full)
					if out[i].id == "" {
						out[i].id = l.Name()
					}
				}
			}
		}
	}
	for i := range out {
		if out[i].id == "" {
			out[i].id = out[i].path
		}
	}
	return out, nil
}

func nodeNumber(path string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(filepath.Base(path), "video"))
	return n
}
