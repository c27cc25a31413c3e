package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func benchNLPCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "nlp",
		Short: "not built yet",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("attune bench nlp is not built yet")
		},
	}
}
