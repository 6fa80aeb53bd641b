// Command tfstandin-gen turns an unpacked CDK for Terraform provider package
// from npm (such as @cdktf/provider-google) into the schema file that
// terraform-provider-standin serves.
//
// Usage:
//
//	tfstandin-gen -package DIR -out FILE
//
// DIR is the unpacked npm package (the folder holding package.json). On
// success it prints one line to standard output: the provider's registry
// address and version, e.g. "registry.terraform.io/hashicorp/google 6.50.0".
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hiring-pipeline/hiring-pipeline/tools/tfstandin/cdktf"
)

func main() {
	pkg := flag.String("package", "", "unpacked npm package folder (holding package.json)")
	out := flag.String("out", "", "schema file to write (gzip-compressed JSON)")
	flag.Parse()
	if *pkg == "" || *out == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*pkg, *out); err != nil {
		fmt.Fprintln(os.Stderr, "tfstandin-gen:", err)
		os.Exit(1)
	}
}

func run(pkg, out string) error {
	p, err := cdktf.Load(pkg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".schema-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := p.Write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "tfstandin-gen: %s %s from %s: %d resources, %d data sources\n",
		p.Source, p.Version, p.Origin, len(p.ResourceSchemas), len(p.DataSourceSchemas))
	fmt.Println(p.Source, p.Version)
	return nil
}
