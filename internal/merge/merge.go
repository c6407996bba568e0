// Package merge merges two changed versions of a text file with their common
// ancestor, line by line, as git merge-file --diff3 does.
//
// A line is a run of bytes up to and including "\n"; the last line of a file
// may lack it. Lines are compared as bytes, so "\r\n" is part of a line and a
// file with a changed line ending has a changed line.
//
// Where a line inserted or deleted could sit at more than one place (a blank
// line added beside a blank line, one of repeated lines deleted), the diffs
// slide it down as far as it goes, as git's do. That matters: a section
// appended after a paragraph that the other side changed would otherwise
// touch the change and conflict. The diffs are still not git's in every
// case: git also slides a replaced run of lines, and chooses among equal
// diffs otherwise, so that on rare inputs one merges cleanly where the other
// conflicts, or both merge cleanly to different texts.
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

// hunks returns the changes from base to side, in base order, each
// insertion and deletion slid down as far as it goes.
func hunks(base, side []string, theirs bool) []hunk {
	diffs := lcs.DiffLines(base, side)
	hs := make([]hunk, len(diffs))
	for i, d := range diffs {
		hs[i] = hunk{d.Start, d.End, slices.Clone(side[d.ReplStart:d.ReplEnd]), theirs}
	}
	for i := range hs {
		limit := len(base) // the next hunk's start: the lines before it are unchanged
		if i+1 < len(hs) {
			limit = hs[i+1].start
		}
		slide(base, &hs[i], limit)
	}
	return hs
}

// slide moves a pure insertion or deletion down past the unchanged lines
// base[h.end:limit] for as long as the text stays the same: an insertion
// of lines L before base line p is the insertion of L[1:] and base[p]
// before base line p+1 when L[0] == base[p]; a deletion of base[s:e] is
// the deletion of base[s+1:e+1] when base[s] == base[e].
func slide(base []string, h *hunk, limit int) {
	switch {
	case h.start == h.end && len(h.lines) > 0:
		for h.end < limit && h.lines[0] == base[h.end] {
			h.lines = append(h.lines[1:], base[h.end])
			h.start++
			h.end++
		}
	case h.start < h.end && len(h.lines) == 0:
		for h.end < limit && base[h.start] == base[h.end] {
			h.start++
			h.end++
		}
	}
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
