package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func benchClusterCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "cluster",
		Short: "not built yet",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("attune bench cluster is not built yet")
		},
	}
}
