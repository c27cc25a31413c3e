package wordvec

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"unicode/utf8"
)

// Subword fallback. The server's WordPiece tokenizer covers a word that is
// not in the vocabulary greedily from the left, longest token first: first a
// whole word or a starting piece (stored with the phantom space), then
// continuation pieces (stored bare). A word it cannot cover entirely becomes
// [UNK], which adds nothing to the embedding. Train adds pieces so that
// unseen words (typos, rare inflections, new product names) still count.
//
// Piece vectors are learned from the rare words of the vocabulary, which
// resemble the unseen ones: each rare word is covered as if it were unknown
// (its own entry removed), and the piece rows are the ridge least-squares
// solution that makes the covered sum closest to the word's own row. Pieces
// seen in few words shrink towards zero, so an unknown word falls back to
// its longest known prefix word plus little else.
const (
	// maxPieceRunes is the longest piece, in characters.
	maxPieceRunes = 6
	// maxPieceWordRunes skips longer words when collecting pieces (URL
	// remnants, hashtags glued together).
	maxPieceWordRunes = 30
	// minPieceTypes is how many distinct corpus words must contain a
	// multi-character piece for it to be kept; one-character pieces need 2.
	minPieceTypes = 3
	// rareWordCount is the highest corpus count of a vocabulary word used to
	// learn piece vectors.
	rareWordCount = 50
	// pieceRidge is the ridge penalty, in units of one word's squared error.
	pieceRidge = 1.0
	// pieceCGIters bounds the conjugate gradient iterations.
	pieceCGIters = 200
)

// choosePieces returns up to limit multi-character pieces plus every
// one-character piece seen in at least two corpus words, in Model.Pieces
// notation, most widespread first. freq holds every corpus word (known or
// not) with its count; starting pieces that are vocabulary words are left
// out, since the words themselves serve.
func choosePieces(freq map[string]int, words []string, limit int) []string {
	inVocab := make(map[string]bool, len(words))
	for _, w := range words {
		inVocab[w] = true
	}
	types := make(map[string]int)
	var rs []rune
	for w := range freq {
		if strings.Contains(w, wordPiecePrefix) || !utf8.ValidString(w) {
			continue
		}
		rs = append(rs[:0], []rune(w)...)
		if len(rs) > maxPieceWordRunes {
			continue
		}
		seen := make(map[string]bool)
		add := func(p string) {
			if !seen[p] {
				seen[p] = true
				types[p]++
			}
		}
		for l := 1; l <= maxPieceRunes && l < len(rs); l++ {
			if p := string(rs[:l]); !inVocab[p] {
				add(p)
			}
		}
		for i := 1; i < len(rs); i++ {
			for l := 1; l <= maxPieceRunes && i+l <= len(rs); l++ {
				add(continuationMark + string(rs[i:i+l]))
			}
		}
	}
	type pc struct {
		p string
		c int
	}
	var single, multi []pc
	for p, c := range types {
		if utf8.RuneCountInString(strings.TrimPrefix(p, continuationMark)) == 1 {
			if c >= 2 {
				single = append(single, pc{p, c})
			}
		} else if c >= minPieceTypes {
			multi = append(multi, pc{p, c})
		}
	}
	byCount := func(a, b pc) int {
		if c := cmp.Compare(b.c, a.c); c != 0 {
			return c
		}
		return cmp.Compare(a.p, b.p)
	}
	slices.SortFunc(single, byCount)
	slices.SortFunc(multi, byCount)
	multi = multi[:min(len(multi), limit)]
	all := append(single, multi...)
	slices.SortFunc(all, byCount)
	out := make([]string, len(all))
	for i, x := range all {
		out[i] = x.p
	}
	return out
}

// fitPieceVectors learns the rows of pieces (see the comment at the top of
// this file) from the vocabulary words with counts at most rareWordCount.
// e holds the final word rows, d wide, in float64.
func fitPieceVectors(ctx context.Context, words []string, counts []int, e []float64, d int, pieces []string) ([]float32, error) {
	// Token ids as in the GGUF: words from firstWordID, then pieces.
	nW := int32(len(words))
	ix := &tokenIndex{ids: make(map[string]int32, len(words)+len(pieces))}
	add := func(tok string, id int32) {
		ix.ids[tok] = id
		ix.maxTokenLen = max(ix.maxTokenLen, len(tok))
	}
	for i, w := range words {
		add(wordPiecePrefix+w, firstWordID+int32(i))
	}
	for i, p := range pieces {
		add(pieceToken(p), firstWordID+nW+int32(i))
	}

	// Each rare word, covered without its own entry: the pieces it uses
	// (the unknowns) and the residual its known words leave.
	segOff := []int{0} // target t uses segPieces[segOff[t]:segOff[t+1]]
	var segPieces []int32
	var resid []float64
	var ids []int32
	for w, word := range words {
		if counts[w] > rareWordCount {
			continue
		}
		tok := wordPiecePrefix + word
		own := ix.ids[tok]
		delete(ix.ids, tok)
		ids = ix.appendWord(ids[:0], tok)
		ix.ids[tok] = own
		if len(ids) == 1 && ids[0] == unkID {
			continue // not coverable: unknown words like it stay [UNK]
		}
		r := append([]float64(nil), e[w*d:(w+1)*d]...)
		n0 := len(segPieces)
		for _, id := range ids {
			if k := id - firstWordID; k < nW {
				for j := range d {
					r[j] -= e[int(k)*d+j]
				}
			} else {
				segPieces = append(segPieces, k-nW)
			}
		}
		if len(segPieces) == n0 {
			continue // covered by other words alone: nothing to learn
		}
		segOff = append(segOff, len(segPieces))
		resid = append(resid, r...)
	}
	nT, nP := len(segOff)-1, len(pieces)

	// apply computes dst = (AᵀA + λI) x for piece rows x (nP×d), A the
	// targets×pieces incidence matrix.
	s := make([]float64, d)
	apply := func(dst, x []float64) {
		for i := range dst {
			dst[i] = pieceRidge * x[i]
		}
		for t := range nT {
			clear(s)
			for _, p := range segPieces[segOff[t]:segOff[t+1]] {
				row := x[int(p)*d : int(p+1)*d]
				for j := range d {
					s[j] += row[j]
				}
			}
			for _, p := range segPieces[segOff[t]:segOff[t+1]] {
				row := dst[int(p)*d : int(p+1)*d]
				for j := range d {
					row[j] += s[j]
				}
			}
		}
	}
	// b = Aᵀ resid
	b := make([]float64, nP*d)
	for t := range nT {
		for _, p := range segPieces[segOff[t]:segOff[t+1]] {
			row := b[int(p)*d : int(p+1)*d]
			for j := range d {
				row[j] += resid[t*d+j]
			}
		}
	}
	// Conjugate gradients on every dimension at once (the d columns share
	// the matrix), from x = 0.
	x := make([]float64, nP*d)
	r := append([]float64(nil), b...)
	p := append([]float64(nil), b...)
	ap := make([]float64, nP*d)
	colDot := func(a, b []float64) []float64 {
		out := make([]float64, d)
		for i := 0; i < len(a); i += d {
			for j := range d {
				out[j] += a[i+j] * b[i+j]
			}
		}
		return out
	}
	rr := colDot(r, r)
	bb := colDot(b, b)
	for it := 0; it < pieceCGIters; it++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		done := true
		for j := range d {
			if rr[j] > 1e-20*bb[j] {
				done = false
			}
		}
		if done {
			break
		}
		apply(ap, p)
		pap := colDot(p, ap)
		alpha := make([]float64, d)
		for j := range d {
			if pap[j] > 0 {
				alpha[j] = rr[j] / pap[j]
			}
		}
		for i := 0; i < len(x); i += d {
			for j := range d {
				x[i+j] += alpha[j] * p[i+j]
				r[i+j] -= alpha[j] * ap[i+j]
			}
		}
		rrNew := colDot(r, r)
		for i := 0; i < len(p); i += d {
			for j := range d {
				beta := 0.0
				if rr[j] > 0 {
					beta = rrNew[j] / rr[j]
				}
				p[i+j] = r[i+j] + beta*p[i+j]
			}
		}
		rr = rrNew
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out, nil
}
