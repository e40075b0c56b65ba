package bench

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// ErrNoHistory is a commit the checkout does not hold: a shallow clone, or
// a tree exported without its .git.
var ErrNoHistory = errors.New("not in this checkout's history")

// Commit names commit (any revision git understands) in the repository at
// dir: its short hash and subject line.
func Commit(dir, commit string) (short, subject string, err error) {
	out, err := git(dir, "log", "-1", "--format=%h %s", commit+"^{commit}", "--")
	if err != nil {
		return "", "", fmt.Errorf("commit %s: %w (%v)", commit, ErrNoHistory, err)
	}
	short, subject, _ = strings.Cut(strings.TrimSpace(out), " ")
	return short, subject, nil
}

// BuildAt builds the Go package pkg (such as "./cmd/voipd") as it was at
// commit into the file out, in a temporary git worktree of the repository
// at dir that it removes afterwards. The checkout at dir is only read (git
// records the worktree under .git/worktrees until it is removed), so others
// may go on working in it meanwhile.
func BuildAt(dir, commit, pkg, out string) error {
	if _, _, err := Commit(dir, commit); err != nil {
		return err
	}
	wt, err := os.MkdirTemp("", "voipd-at-"+commit+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(wt)
	if _, err := git(dir, "worktree", "add", "--detach", wt, commit); err != nil {
		return err
	}
	defer git(dir, "worktree", "remove", "--force", wt)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = wt
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s at %s: %w\n%s", pkg, commit, err, b)
	}
	return nil
}

func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	b, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}
