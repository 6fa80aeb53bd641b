// Command terraform-provider-standin is a plan-only stand-in for a
// Terraform/OpenTofu provider. OpenTofu starts it like any provider plugin.
// It serves the schema in the file schema.json.gz that sits in the same
// folder as the executable (written by tfstandin-gen), so one build of this
// program is installed once per provider, each copy beside its own schema.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/terraform-plugin-go/tfprotov5"
	"github.com/hashicorp/terraform-plugin-go/tfprotov5/tf5server"

	"github.com/hiring-pipeline/hiring-pipeline/tools/tfstandin/provider"
	"github.com/hiring-pipeline/hiring-pipeline/tools/tfstandin/schema"
)

// SchemaFile is the name of the schema file beside the executable.
const SchemaFile = "schema.json.gz"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "terraform-provider-standin:", err)
		os.Exit(1)
	}
}

func run() error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	p, err := schema.Load(filepath.Join(filepath.Dir(exe), SchemaFile))
	if err != nil {
		return err
	}
	srv := provider.New(p)
	return tf5server.Serve(p.Source, func() tfprotov5.ProviderServer { return srv })
}
