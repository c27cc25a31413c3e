// Package configs ships Attune's documented default configuration. The YAML
// file is both the reference users read and the defaults the binary loads, so
// the two cannot drift apart.
package configs

import _ "embed"

// Default is configs/attune.yaml: every setting with its default and comment.
//
//go:embed attune.yaml
var Default []byte

// Aspects is configs/aspects.yaml: the CX aspects the nlp stage finds,
// matched on stems and phrases. Users point nlp.aspects_file at their own.
//
//go:embed aspects.yaml
var Aspects []byte
