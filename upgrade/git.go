package upgrade

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// git runs git with args in the directory dir and returns its stdout.
func git(ctx context.Context, dir string, stdin io.Reader, env []string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Stdin = stdin
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// inRepo reports whether dir is inside a git work tree, with git installed.
func inRepo(ctx context.Context, dir string) bool {
	if _, err := exec.LookPath("git"); err != nil {
		return false
	}
	out, err := git(ctx, dir, nil, nil, "rev-parse", "--is-inside-work-tree")
	return err == nil && strings.TrimSpace(string(out)) == "true"
}

// uncommitted returns the paths under dir that git status reports: changed,
// staged or untracked, and not ignored.
func uncommitted(ctx context.Context, dir string) ([]string, error) {
	out, err := git(ctx, dir, nil, nil, "status", "--porcelain", "--untracked-files=all", "--", ".")
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if len(line) > 3 {
			paths = append(paths, line[3:])
		}
	}
	return paths, nil
}

// errMissingBlob is returned by readBlobs for an id the repository lacks.
var errMissingBlob = errors.New("not in the repository")

// readBlobs reads the blobs of ids from the repository of dir, with one
// git cat-file --batch.
func readBlobs(ctx context.Context, dir string, ids []string) (map[string][]byte, error) {
	out, err := git(ctx, dir, strings.NewReader(strings.Join(ids, "\n")+"\n"), nil, "cat-file", "--batch")
	if err != nil {
		return nil, err
	}
	r := bufio.NewReader(bytes.NewReader(out))
	blobs := make(map[string][]byte, len(ids))
	for _, id := range ids {
		header, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("git cat-file: %w", err)
		}
		fields := strings.Fields(header)
		if len(fields) != 3 || fields[1] != "blob" {
			return nil, fmt.Errorf("blob %s: %w", id, errMissingBlob)
		}
		size, err := strconv.Atoi(fields[2])
		if err != nil {
			return nil, fmt.Errorf("git cat-file: header %q", header)
		}
		data := make([]byte, size+1) // and the newline after it
		if _, err := io.ReadFull(r, data); err != nil {
			return nil, fmt.Errorf("git cat-file: %w", err)
		}
		blobs[id] = data[:size]
	}
	return blobs, nil
}

// keepRef is where upgrade keeps the files as this release generated them,
// as a commit, so that the next upgrade finds its base in the repository
// even for the files the user's commit holds merged.
const keepRef = "refs/netavark-plugin-gen/generated"

// keepGenerated stores the files of the scratch directory tree in the
// repository of dir, as the commit that keepRef names.
func keepGenerated(ctx context.Context, dir, tree, message string) error {
	index, err := os.CreateTemp("", "netavark-plugin-gen-index-")
	if err != nil {
		return err
	}
	index.Close()
	os.Remove(index.Name()) // git wants to create it
	defer os.Remove(index.Name())
	gitDir, err := git(ctx, dir, nil, nil, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return err
	}
	env := []string{"GIT_DIR=" + strings.TrimSpace(string(gitDir)), "GIT_WORK_TREE=" + tree, "GIT_INDEX_FILE=" + index.Name()}
	if _, err := git(ctx, tree, nil, env, "add", "--all", "--force", "."); err != nil {
		return err
	}
	id, err := git(ctx, tree, nil, env, "write-tree")
	if err != nil {
		return err
	}
	commit, err := git(ctx, dir, nil, []string{
		"GIT_AUTHOR_NAME=netavark-plugin-gen", "GIT_AUTHOR_EMAIL=netavark-plugin-gen@localhost",
		"GIT_COMMITTER_NAME=netavark-plugin-gen", "GIT_COMMITTER_EMAIL=netavark-plugin-gen@localhost",
	}, "commit-tree", strings.TrimSpace(string(id)), "-m", message)
	if err != nil {
		return err
	}
	_, err = git(ctx, dir, nil, nil, "update-ref", keepRef, strings.TrimSpace(string(commit)))
	return err
}
