package merge

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/netavark-plugin-gen/netavark-plugin-gen/internal/testenv"
)

// labels are the labels of every test, as given to git merge-file.
var labels = Labels{Ours: "ours", Base: "base", Theirs: "theirs"}

// seed seeds the random cases of the property and git tests.
const seed = 20240611

// tests are the merge rules by example: want is git merge-file's output.
var tests = []struct {
	name               string
	base, ours, theirs string
	want               string
	conflicts          int
}{
	{name: "empty", want: ""},
	{name: "ours only", base: "a\nb\nc\n", ours: "a\nB\nc\n", theirs: "a\nb\nc\n", want: "a\nB\nc\n"},
	{name: "theirs only", base: "a\nb\nc\n", ours: "a\nb\nc\n", theirs: "a\nB\nc\n", want: "a\nB\nc\n"},
	{name: "both, apart",
		base: "a\nb\nc\nd\ne\n", ours: "A\nb\nc\nd\ne\n", theirs: "a\nb\nc\nd\nE\n",
		want: "A\nb\nc\nd\nE\n"},
	{name: "same change on both sides",
		base: "a\nb\nc\nd\ne\n", ours: "a\nB\nc\nd\ne\n", theirs: "a\nB\nc\nd\nE\n",
		want: "a\nB\nc\nd\nE\n"},
	{name: "same insertion on both sides",
		base: "a\nb\nc\nd\ne\n", ours: "a\nx\nb\nc\nd\ne\n", theirs: "a\nx\nb\nc\nd\nE\n",
		want: "a\nx\nb\nc\nd\nE\n"},
	{name: "insertions at the same point",
		base: "a\nb\n", ours: "a\nx\nb\n", theirs: "a\ny\nb\n",
		want:      "a\n<<<<<<< ours\nx\n||||||| base\n=======\ny\n>>>>>>> theirs\nb\n",
		conflicts: 1},
	{name: "adjacent lines changed",
		base: "a\nb\nc\nd\n", ours: "a\nB\nc\nd\n", theirs: "a\nb\nC\nd\n",
		want:      "a\n<<<<<<< ours\nB\nc\n||||||| base\nb\nc\n=======\nb\nC\n>>>>>>> theirs\nd\n",
		conflicts: 1},
	{name: "insertion next to a change",
		base: "a\nb\nc\n", ours: "a\nb\nx\nc\n", theirs: "a\nB\nc\n",
		want:      "a\n<<<<<<< ours\nb\nx\n||||||| base\nb\n=======\nB\n>>>>>>> theirs\nc\n",
		conflicts: 1},
	{name: "same line changed",
		base: "a\nb\nc\n", ours: "a\nX\nc\n", theirs: "a\nY\nc\n",
		want:      "a\n<<<<<<< ours\nX\n||||||| base\nb\n=======\nY\n>>>>>>> theirs\nc\n",
		conflicts: 1},
	{name: "deletes apart",
		base: "a\nb\nc\nd\ne\n", ours: "a\nc\nd\ne\n", theirs: "a\nb\nc\ne\n",
		want: "a\nc\ne\n"},
	{name: "same delete",
		base: "a\nb\nc\nd\ne\n", ours: "a\nc\nd\ne\n", theirs: "a\nc\nd\nE\n",
		want: "a\nc\nd\nE\n"},
	{name: "delete against change",
		base: "a\nb\nc\n", ours: "a\nc\n", theirs: "a\nB\nc\n",
		want:      "a\n<<<<<<< ours\n||||||| base\nb\n=======\nB\n>>>>>>> theirs\nc\n",
		conflicts: 1},
	{name: "two conflicts",
		base: "a\nb\nc\nd\ne\n", ours: "A\nb\nc\nd\nE\n", theirs: "1\nb\nc\nd\n5\n",
		want: "<<<<<<< ours\nA\n||||||| base\na\n=======\n1\n>>>>>>> theirs\nb\nc\nd\n" +
			"<<<<<<< ours\nE\n||||||| base\ne\n=======\n5\n>>>>>>> theirs\n",
		conflicts: 2},
	{name: "no final newline, clean",
		base: "a\nb\nc", ours: "A\nb\nc", theirs: "a\nb\nC",
		want: "A\nb\nC"},
	{name: "no final newline, conflict",
		base: "a\nb", ours: "a\nB", theirs: "a\nC",
		want:      "a\n<<<<<<< ours\nB\n||||||| base\nb\n=======\nC\n>>>>>>> theirs\n",
		conflicts: 1},
	{name: "final newline removed against change",
		base: "a\nb\nc\n", ours: "a\nb\nc", theirs: "a\nB\nc\n",
		want:      "a\n<<<<<<< ours\nb\nc\n||||||| base\nb\nc\n=======\nB\nc\n>>>>>>> theirs\n",
		conflicts: 1},
	{name: "empty base, both add",
		base: "", ours: "a\n", theirs: "b\n",
		want:      "<<<<<<< ours\na\n||||||| base\n=======\nb\n>>>>>>> theirs\n",
		conflicts: 1},
	{name: "empty base, one adds", base: "", ours: "", theirs: "b\n", want: "b\n"},
	{name: "empty base, same addition", base: "", ours: "x\n", theirs: "x\n", want: "x\n"},
	{name: "all deleted by one, changed by the other",
		base: "a\n", ours: "", theirs: "b\n",
		want:      "<<<<<<< ours\n||||||| base\na\n=======\nb\n>>>>>>> theirs\n",
		conflicts: 1},
	{name: "CRLF, clean",
		base: "a\r\nb\r\nc\r\nd\r\n", ours: "A\r\nb\r\nc\r\nd\r\n", theirs: "a\r\nb\r\nc\r\nD\r\n",
		want: "A\r\nb\r\nc\r\nD\r\n"},
	{name: "insertion slid down past a blank line, away from a change",
		base: "a\n\nb\n", ours: "A\n\nb\n", theirs: "a\n\nX\n\nb\n",
		want: "A\n\nX\n\nb\n"},
	{name: "deletion slid down in repeated lines",
		base: "x\na\nb\na\nb\na\nb\ny\n", ours: "x\na\nb\na\nb\ny\n", theirs: "x\na\nb\nC\nb\na\nb\ny\n",
		want: "x\na\nb\nC\nb\ny\n"},
	{name: "binary bytes",
		base: "\x00\xff\n\x01\n\x02\n\x03", ours: "\x00\xfe\n\x01\n\x02\n\x03", theirs: "\x00\xff\n\x01\n\x02\n\x04",
		want: "\x00\xfe\n\x01\n\x02\n\x04"},
}

func TestLines(t *testing.T) {
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n := Lines([]byte(tt.base), []byte(tt.ours), []byte(tt.theirs), labels)
			if string(got) != tt.want || n != tt.conflicts {
				t.Errorf("Lines(%q, %q, %q) =\n%q, %d conflicts; want\n%q, %d",
					tt.base, tt.ours, tt.theirs, got, n, tt.want, tt.conflicts)
			}
		})
	}
}

// TestLinesLikeGit checks that the table's expectations are what git writes.
func TestLinesLikeGit(t *testing.T) {
	git := newGit(t)
	for _, tt := range tests {
		if strings.Contains(tt.base+tt.ours+tt.theirs, "\x00") {
			continue // git will not merge binary files
		}
		got, n := git.merge(t, tt.base, tt.ours, tt.theirs)
		if got != tt.want || n != tt.conflicts {
			t.Errorf("%s: git merge-file wrote\n%q, %d conflicts; the table wants\n%q, %d",
				tt.name, got, n, tt.want, tt.conflicts)
		}
	}
}

func TestLabels(t *testing.T) {
	got, _ := Lines([]byte("a\n"), []byte("b\n"), []byte("c\n"), Labels{"new", "", "old v1"})
	want := "<<<<<<< new\nb\n||||||| \na\n=======\nc\n>>>>>>> old v1\n"
	if string(got) != want {
		t.Errorf("got\n%q, want\n%q", got, want)
	}
}

// TestProperties checks identities of merges on random edits of real Go
// files, both through Lines and through merge3, which has no shortcut for
// them, and that swapping ours and theirs changes no clean merge.
func TestProperties(t *testing.T) {
	files := corpus(t)
	r := rand.New(rand.NewPCG(seed, 0))
	for i := range 300 {
		base := window(r, files)
		x, y := edit(r, base, "x", i), edit(r, base, "y", i)
		bs, xs, ys := join(base), join(x), join(y)
		for _, f := range []struct {
			name string
			f    func(base, ours, theirs []byte, labels Labels) ([]byte, int)
		}{{"Lines", Lines}, {"merge3", merge3}} {
			for _, c := range []struct{ prop, base, ours, theirs, want string }{
				{"merge(base, x, base) == x", bs, xs, bs, xs},
				{"merge(base, base, y) == y", bs, bs, ys, ys},
				{"merge(x, x, x) == x", xs, xs, xs, xs},
				{"merge(base, x, x) == x", bs, xs, xs, xs},
			} {
				got, n := f.f([]byte(c.base), []byte(c.ours), []byte(c.theirs), labels)
				if string(got) != c.want || n != 0 {
					t.Fatalf("seed %d, case %d: %s: %s fails with %d conflicts:\nbase=%q\nours=%q\ntheirs=%q\ngot=%q",
						seed, i, f.name, c.prop, n, c.base, c.ours, c.theirs, got)
				}
			}
		}
		xy, n := Lines([]byte(bs), []byte(xs), []byte(ys), labels)
		yx, m := Lines([]byte(bs), []byte(ys), []byte(xs), labels)
		if n != m || n == 0 && !bytes.Equal(xy, yx) {
			t.Fatalf("seed %d, case %d: merge(base, x, y) = %q, %d conflicts but merge(base, y, x) = %q, %d:\nbase=%q\nx=%q\ny=%q",
				seed, i, xy, n, yx, m, bs, xs, ys)
		}
	}
}

// TestAgreesWithGit merges random edits of real Go files with Lines and
// with git merge-file: where both merge cleanly, they must agree byte for
// byte. Where one finds a conflict and the other does not, the two diffs
// aligned some change differently; that is allowed, and counted.
func TestAgreesWithGit(t *testing.T) {
	git := newGit(t)
	files := corpus(t)
	r := rand.New(rand.NewPCG(seed, 1))
	const cases = 300
	var clean, conflict, sameConflict, disagree int
	for i := range cases {
		base := window(r, files)
		bs, ours, theirs := join(base), join(edit(r, base, "ours", i)), join(edit(r, base, "theirs", i))
		got, n := Lines([]byte(bs), []byte(ours), []byte(theirs), labels)
		want, gn := git.merge(t, bs, ours, theirs)
		switch {
		case n == 0 && gn == 0:
			clean++
			if string(got) != want {
				t.Errorf("seed %d, case %d: clean merges differ:\nbase=%q\nours=%q\ntheirs=%q\nLines: %q\ngit:   %q",
					seed, i, bs, ours, theirs, got, want)
			}
		case n > 0 && gn > 0:
			conflict++
			if string(got) == want {
				sameConflict++
			}
		default:
			disagree++
			t.Logf("case %d: Lines: %d conflicts, git: %d", i, n, gn)
		}
	}
	t.Logf("seed %d: %d cases compared: %d clean in both, %d conflicting in both (%d written alike), %d clean in one only",
		seed, cases, clean, conflict, sameConflict, disagree)
	if disagree > cases/5 {
		t.Errorf("%d of %d cases are clean in Lines or git only", disagree, cases)
	}
}

func FuzzLines(f *testing.F) {
	for _, tt := range tests {
		f.Add(tt.base, tt.ours, tt.theirs)
	}
	f.Fuzz(func(t *testing.T, base, ours, theirs string) {
		b, o, th := []byte(base), []byte(ours), []byte(theirs)
		got, n := Lines(b, o, th, labels)
		if n < 0 {
			t.Fatalf("%d conflicts", n)
		}
		// The identities, through Lines when they apply and always
		// through merge3, which does not take Lines' shortcuts.
		if ours == theirs || theirs == base {
			if string(got) != ours || n != 0 {
				t.Errorf("Lines(%q, %q, %q) = %q, %d; want ours", base, ours, theirs, got, n)
			}
		} else if ours == base && (string(got) != theirs || n != 0) {
			t.Errorf("Lines(%q, %q, %q) = %q, %d; want theirs", base, ours, theirs, got, n)
		}
		for _, c := range [][4][]byte{{b, o, b, o}, {b, b, th, th}, {b, o, o, o}, {o, o, o, o}} {
			if got, n := merge3(c[0], c[1], c[2], labels); !bytes.Equal(got, c[3]) || n != 0 {
				t.Errorf("merge3(%q, %q, %q) = %q, %d; want %q", c[0], c[1], c[2], got, n, c[3])
			}
		}
		got, n = merge3(b, o, th, labels)
		swapped, m := merge3(b, th, o, labels)
		if n != m || n == 0 && !bytes.Equal(got, swapped) {
			t.Errorf("merge3(%q, %q, %q) = %q, %d; swapped: %q, %d", base, ours, theirs, got, n, swapped, m)
		}
	})
}

// corpus returns the lines of the files of a generated project, the golden
// bridge-all: its Go files, Makefile and README, the files that upgrade
// merges.
func corpus(t *testing.T) [][]string {
	t.Helper()
	var files [][]string
	err := filepath.WalkDir("../../golden/bridge-all", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if name := e.Name(); filepath.Ext(name) != ".go" && name != "Makefile" && name != "README.md" {
			return nil
		}
		text, err := os.ReadFile(p)
		if err == nil && len(text) > 0 {
			files = append(files, split(text))
		}
		return err
	})
	if err != nil || len(files) < 10 {
		t.Fatalf("the generated project golden/bridge-all: %d files: %v", len(files), err)
	}
	return files
}

// window returns 1 to 60 consecutive lines of a file, the last of them
// without its "\n" one time in eight.
func window(r *rand.Rand, files [][]string) []string {
	lines := files[r.IntN(len(files))]
	n := 1 + r.IntN(min(len(lines), 60))
	start := r.IntN(len(lines) - n + 1)
	w := slices.Clone(lines[start : start+n])
	if r.IntN(8) == 0 {
		w[n-1] = strings.TrimSuffix(w[n-1], "\n")
	}
	return w
}

// edit returns lines with 1 to 4 random edits: a line deleted, or a new line
// inserted or put in the place of one. New lines are unique to the side and
// case.
func edit(r *rand.Rand, lines []string, side string, id int) []string {
	lines = slices.Clone(lines)
	for k := range 1 + r.IntN(4) {
		fresh := fmt.Sprintf("// edit %d.%d %s\n", id, k, side)
		i := r.IntN(len(lines) + 1)
		switch op := r.IntN(3); {
		case i == len(lines) || op == 0:
			lines = slices.Insert(lines, i, fresh)
		case op == 1:
			lines = slices.Delete(lines, i, i+1)
		default:
			lines[i] = fresh
		}
	}
	return lines
}

func join(lines []string) string { return strings.Join(lines, "") }

// git runs git merge-file on files in a directory of its own, out of any
// repository and away from the user's and system's configuration (which
// could set merge.conflictStyle).
type git struct{ dir string }

func newGit(t *testing.T) git {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		testenv.SkipOrFail(t, "git is not in PATH")
	}
	return git{t.TempDir()}
}

// merge returns git merge-file's merge and number of conflicts.
func (g git) merge(t *testing.T, base, ours, theirs string) (string, int) {
	t.Helper()
	for name, text := range map[string]string{"base": base, "ours": ours, "theirs": theirs} {
		if err := os.WriteFile(filepath.Join(g.dir, name), []byte(text), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("git", "merge-file", "-p", "--diff3",
		"-L", labels.Ours, "-L", labels.Base, "-L", labels.Theirs, "ours", "base", "theirs")
	cmd.Dir = g.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+g.dir, "XDG_CONFIG_HOME="+g.dir,
		"GIT_CEILING_DIRECTORIES="+filepath.Dir(g.dir))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit) && exit.ExitCode() > 0 && exit.ExitCode() < 128:
		return string(out), exit.ExitCode()
	}
	t.Fatalf("git merge-file: %v: %s", err, stderr.Bytes())
	return "", 0
}
