// Package merge merges two changed versions of a text file with their common
// ancestor, line by line, as git merge-file --diff3 does.
//
// A line is a run of bytes up to and including "\n"; the last line of a file
// may lack it. Lines are compared as bytes, so "\r\n" is part of a line and a
// file with a changed line ending has a changed line.
//
// The diffs are not git's: where a change could sit at more than one place
// in a run of repeated lines, git slides it down as far as it goes and these
// diffs may leave it higher, so the merges can differ. For base lines
// "x a b a b a b y", ours deleting one "a b" and theirs changing the middle
// "a" to "C" conflict here, while git merges them cleanly to "x a b C b y";
// in longer runs both can merge cleanly, to different texts.
package merge

import (
	"bytes"
	"slices"

	"github.com/aymanbagabas/go-udiff/lcs"
)

// Labels name the three versions in conflict markers.
type Labels struct{ Ours, Base, Theirs string }

// Lines merges ours and theirs, two descendants of base. It diffs base
// against each side and walks the changed regions of base in order, grouping
// the changes whose base ranges overlap or touch: changes to adjacent lines,
// or two insertions at the same place, fall into one group, as in git. A
// group changed by one side only takes that side's lines, a group changed
// alike by both takes them once, and any other group is a conflict, written
// as git merge-file --diff3 writes it:
//
//	<<<<<<< Ours
//	ours' lines
//	||||||| Base
//	base's lines
//	=======
//	theirs' lines
//	>>>>>>> Theirs
//
// Each marker but "=======" is followed by a space and its label, even an
// empty one, as in git. A section whose last line lacks "\n" gets one
// before the next marker. Markers end in "\n" whatever the files' line
// endings (git would end them in "\r\n" in a CRLF file).
//
// If ours equals theirs, or theirs equals base, the result is ours; if ours
// equals base, it is theirs. Lines returns the merged text, which shares no memory with
// its arguments, and the number of conflicting regions marked in it (0: a
// clean merge). It never fails: any bytes are lines of text.
func Lines(base, ours, theirs []byte, labels Labels) (merged []byte, conflicts int) {
	switch {
	case bytes.Equal(ours, theirs), bytes.Equal(theirs, base):
		return bytes.Clone(ours), 0
	case bytes.Equal(ours, base):
		return bytes.Clone(theirs), 0
	}
	return merge3(base, ours, theirs, labels)
}

// A hunk replaces base[start:end] by lines, on one side.
type hunk struct {
	start, end int
	lines      []string
	theirs     bool
}

// merge3 is Lines without its shortcuts for equal inputs.
func merge3(base, ours, theirs []byte, labels Labels) (merged []byte, conflicts int) {
	b := split(base)
	hunks := slices.Concat(hunks(b, split(ours), false), hunks(b, split(theirs), true))
	slices.SortStableFunc(hunks, func(x, y hunk) int { return x.start - y.start })

	var out bytes.Buffer
	pos := 0 // base[:pos] is merged
	for i := 0; i < len(hunks); {
		// The group hunks[i:j] covers base[s:e].
		s, e, j := hunks[i].start, hunks[i].end, i+1
		for ; j < len(hunks) && hunks[j].start <= e; j++ {
			e = max(e, hunks[j].end)
		}
		group := hunks[i:j]
		write(&out, b[pos:s])
		o, oChanged := apply(b, s, e, group, false)
		t, tChanged := apply(b, s, e, group, true)
		switch {
		case !tChanged:
			write(&out, o)
		case !oChanged || slices.Equal(o, t):
			write(&out, t)
		default:
			conflicts++
			marker(&out, "<<<<<<< "+labels.Ours)
			write(&out, o)
			marker(&out, "||||||| "+labels.Base)
			write(&out, b[s:e])
			marker(&out, "=======")
			write(&out, t)
			marker(&out, ">>>>>>> "+labels.Theirs)
		}
		pos, i = e, j
	}
	write(&out, b[pos:])
	return out.Bytes(), conflicts
}

// split returns the lines of text, each with its "\n".
func split(text []byte) []string {
	var lines []string
	for len(text) > 0 {
		n := bytes.IndexByte(text, '\n') + 1
		if n == 0 {
			n = len(text)
		}
		lines = append(lines, string(text[:n]))
		text = text[n:]
	}
	return lines
}

// hunks returns the changes from base to side, in base order.
func hunks(base, side []string, theirs bool) []hunk {
	var hs []hunk
	for _, d := range lcs.DiffLines(base, side) {
		hs = append(hs, hunk{d.Start, d.End, side[d.ReplStart:d.ReplEnd], theirs})
	}
	return hs
}

// apply returns base[s:e] with one side's hunks of group applied, and
// whether that side has any.
func apply(base []string, s, e int, group []hunk, theirs bool) (lines []string, changed bool) {
	pos := s
	for _, h := range group {
		if h.theirs == theirs {
			lines = append(append(lines, base[pos:h.start]...), h.lines...)
			pos, changed = h.end, true
		}
	}
	return append(lines, base[pos:e]...), changed
}

func write(out *bytes.Buffer, lines []string) {
	for _, l := range lines {
		out.WriteString(l)
	}
}

// marker writes a conflict marker line, after ending the line before it.
func marker(out *bytes.Buffer, m string) {
	if out.Len() > 0 && out.Bytes()[out.Len()-1] != '\n' {
		out.WriteByte('\n')
	}
	out.WriteString(m + "\n")
}
