package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func benchEmbedCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "embed",
		Short: "not built yet",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("attune bench embed is not built yet")
		},
	}
}
