package bench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ClockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux architecture the project builds for.
const ClockTicks = 100

// Stat is what the bench reads from /proc/PID/stat.
type Stat struct {
	PPID       int
	CPUSeconds float64 // utime + stime
}

// ParseStat parses the contents of /proc/PID/stat. The command name is in
// parentheses and may itself hold spaces and parentheses, so the fields are
// counted from the last ')'.
func ParseStat(b []byte) (Stat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return Stat{}, fmt.Errorf("stat: no command name in %q", b)
	}
	f := strings.Fields(string(b[i+2:]))
	// f[0] is the state (field 3); ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return Stat{}, fmt.Errorf("stat: %d fields after the name, want ≥ 13", len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseUint(f[11], 10, 64)
	st, err3 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Stat{}, fmt.Errorf("stat: bad numbers in %q", b)
	}
	return Stat{PPID: ppid, CPUSeconds: float64(ut+st) / ClockTicks}, nil
}

// Memory is a process's resident set: RSS counts every page it maps, PSS
// shares each shared page among the processes mapping it (so the PSS of
// a process tree adds up without counting a shared library twice).
type Memory struct {
	RSSKiB, PSSKiB int
}

// ParseSmapsRollup reads Rss and Pss from /proc/PID/smaps_rollup.
func ParseSmapsRollup(b []byte) (Memory, error) {
	var m Memory
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		var dst *int
		switch f[0] {
		case "Rss:":
			dst = &m.RSSKiB
		case "Pss:":
			dst = &m.PSSKiB
		default:
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return m, fmt.Errorf("smaps_rollup: %q: %w", sc.Text(), err)
		}
		*dst, seen = n, seen+1
	}
	if seen < 2 {
		return m, fmt.Errorf("smaps_rollup: no Rss and Pss lines")
	}
	return m, nil
}

// Usage is a process tree's CPU time, threads, context switches and memory
// at one moment.
type Usage struct {
	Procs      int
	CPUSeconds float64
	Threads    int
	// Switches is the tree's threads' context switches so far, voluntary
	// (a thread that waits: a wakeup) and not (preempted); those of
	// threads that have exited are not counted.
	Switches int64
	Memory
}

// Thread is one thread's name (comm), context switches so far, and the
// system call it is in now (/proc/PID/task/TID/syscall's number; -1 when
// it runs or it cannot be read).
type Thread struct {
	TID      int
	Name     string
	Switches int64
	Syscall  int
}

// SyscallName names the amd64 system calls a media daemon's threads wait
// in (others as "syscall N"; -1 "running").
func SyscallName(n int) string {
	names := map[int]string{0: "read", 1: "write", 7: "poll", 23: "select", 35: "nanosleep", 44: "sendto",
		45: "recvfrom", 46: "sendmsg", 47: "recvmsg", 202: "futex", 230: "clock_nanosleep", 232: "epoll_wait",
		270: "pselect6", 271: "ppoll", 281: "epoll_pwait", 299: "recvmmsg"}
	if n < 0 {
		return "running"
	}
	if s, ok := names[n]; ok {
		return s
	}
	return fmt.Sprintf("syscall %d", n)
}

// ParseTaskStatus reads a thread's name and its voluntary and
// involuntary context switches from /proc/PID/task/TID/status.
func ParseTaskStatus(b []byte) (name string, switches int64, err error) {
	seen := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Name":
			name = v
		case "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return "", 0, fmt.Errorf("status: %s: %w", k, err)
			}
			switches += n
			seen++
		}
	}
	if seen != 2 {
		return "", 0, fmt.Errorf("status: no context switch counts")
	}
	return name, switches, nil
}

// Threads lists pid's threads with their context switches so far.
func Threads(procRoot string, pid int) ([]Thread, error) {
	dir := filepath.Join(procRoot, strconv.Itoa(pid), "task")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []Thread
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "status"))
		if err != nil {
			continue // exited meanwhile
		}
		name, n, err := ParseTaskStatus(b)
		if err != nil {
			return nil, err
		}
		sc := -1
		if b, err := os.ReadFile(filepath.Join(dir, e.Name(), "syscall")); err == nil {
			if f := strings.Fields(string(b)); len(f) > 0 {
				if v, err := strconv.Atoi(f[0]); err == nil {
					sc = v
				}
			}
		}
		out = append(out, Thread{TID: tid, Name: name, Switches: n, Syscall: sc})
	}
	return out, nil
}

// Descendants returns pid and every process below it, reading the parent
// links in procRoot (normally "/proc").
func Descendants(procRoot string, pid int) ([]int, error) {
	ents, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, err
	}
	children := map[int][]int{}
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procRoot, e.Name(), "stat"))
		if err != nil {
			continue // gone meanwhile
		}
		if st, err := ParseStat(b); err == nil {
			children[st.PPID] = append(children[st.PPID], n)
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out, nil
}

// TreeUsage sums the CPU time and memory of pid's tree. A process that
// exits while it is read is left out.
func TreeUsage(procRoot string, pid int) (Usage, error) {
	pids, err := Descendants(procRoot, pid)
	if err != nil {
		return Usage{}, err
	}
	var u Usage
	for _, p := range pids {
		dir := filepath.Join(procRoot, strconv.Itoa(p))
		sb, err1 := os.ReadFile(filepath.Join(dir, "stat"))
		mb, err2 := os.ReadFile(filepath.Join(dir, "smaps_rollup"))
		if err1 != nil || err2 != nil {
			if p == pid {
				return u, fmt.Errorf("process %d: %w", pid, errors.Join(err1, err2))
			}
			continue
		}
		st, err := ParseStat(sb)
		if err != nil {
			return u, err
		}
		m, err := ParseSmapsRollup(mb)
		if err != nil {
			return u, err
		}
		ts, err := Threads(procRoot, p)
		if err != nil && p == pid {
			return u, fmt.Errorf("process %d: %w", pid, err)
		}
		u.Procs++
		u.CPUSeconds += st.CPUSeconds
		u.RSSKiB += m.RSSKiB
		u.PSSKiB += m.PSSKiB
		u.Threads += len(ts)
		for _, t := range ts {
			u.Switches += t.Switches
		}
	}
	return u, nil
}

// RSSParts splits a process's resident set by what the pages are: its own
// executable's file pages, other files' (shared libraries), and anonymous
// memory (heaps, stacks; a C library's mallocs included).
type RSSParts struct {
	ExeKiB, LibsKiB, AnonKiB int
}

// ParseSmapsParts reads /proc/PID/smaps; exe is the executable's path as
// the mappings name it (/proc/PID/exe's target).
func ParseSmapsParts(b []byte, exe string) (RSSParts, error) {
	var p RSSParts
	name := ""
	seen := false
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if strings.Contains(f[0], "-") && len(f) >= 5 && !strings.HasSuffix(f[0], ":") {
			name = ""
			if len(f) >= 6 {
				name = strings.Join(f[5:], " ")
			}
			continue
		}
		if f[0] != "Rss:" || len(f) < 2 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return p, fmt.Errorf("smaps: %q: %w", line, err)
		}
		seen = true
		switch {
		case name == exe:
			p.ExeKiB += n
		case strings.HasPrefix(name, "/"):
			p.LibsKiB += n
		default: // anonymous, [heap], [stack], [vdso] …
			p.AnonKiB += n
		}
	}
	if !seen {
		return p, fmt.Errorf("smaps: no Rss lines")
	}
	return p, nil
}

// ProcessRSSParts is ParseSmapsParts for a running process.
func ProcessRSSParts(procRoot string, pid int) (RSSParts, error) {
	dir := fmt.Sprintf("%s/%d", procRoot, pid)
	exe, err := os.Readlink(dir + "/exe")
	if err != nil {
		return RSSParts{}, err
	}
	b, err := os.ReadFile(dir + "/smaps")
	if err != nil {
		return RSSParts{}, err
	}
	return ParseSmapsParts(b, exe)
}
