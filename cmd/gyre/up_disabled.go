//go:build nolocalcluster

package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newUpCommand in a build without the embedded control plane (the container
// image) explains how to get a build that has it.
func newUpCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Run an embedded Kubernetes control plane (not in this build)",
		RunE: func(*cobra.Command, []string) error {
			return errors.New("this gyre was built without the embedded cluster (build tag nolocalcluster); use a release binary or `go build ./cmd/gyre`")
		},
	}
}
