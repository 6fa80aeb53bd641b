// Package config reads the configuration of every component from environment
// variables named HIRING_*, into typed structs.
package config

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/sethvargo/go-envconfig"
)

// Prefix starts the name of every variable this project reads.
const Prefix = "HIRING_"

// Google says where the data lives and how to reach Google Cloud or the local
// emulators.
type Google struct {
	// Project is the Google Cloud project that holds the dataset and runs jobs.
	Project string `env:"PROJECT, required"`
	// Dataset is the BigQuery dataset that holds the tables.
	Dataset string `env:"DATASET, default=hiring"`
	// Location is the BigQuery location of the dataset and of its jobs.
	Location string `env:"BIGQUERY_LOCATION, default=US"`
	// BigQueryEndpoint, when set, is the URL of a BigQuery REST endpoint to use
	// instead of Google's, without authentication: the local emulator.
	BigQueryEndpoint string `env:"BIGQUERY_ENDPOINT"`
}

// Buckets names the Cloud Storage buckets.
type Buckets struct {
	// Landing receives the CSV files to load.
	Landing string `env:"LANDING_BUCKET, required"`
	// Staging holds the Avro files of load jobs in flight.
	Staging string `env:"STAGING_BUCKET, required"`
	// Backups holds the Avro backups of the tables.
	Backups string `env:"BACKUP_BUCKET, required"`
}

// Load fills a T (a struct of the types above, or a component's own) from
// variables found by lookup, which is given names without the prefix
// stripped; nil means the process environment.
func Load[T any](ctx context.Context, lookup envconfig.Lookuper) (T, error) {
	var cfg T
	if lookup == nil {
		lookup = envconfig.OsLookuper()
	}
	err := envconfig.ProcessWith(ctx, &envconfig.Config{
		Target:   &cfg,
		Lookuper: envconfig.PrefixLookuper(Prefix, lookup),
	})
	if err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

// FromMap returns a lookuper over m, for tests and for the local stack.
func FromMap(m map[string]string) envconfig.Lookuper { return envconfig.MapLookuper(m) }

// StorageEmulatorHost returns STORAGE_EMULATOR_HOST as lookup finds it
// (without the prefix): the host:port of a Cloud Storage emulator, or "".
func StorageEmulatorHost(lookup envconfig.Lookuper) string {
	if lookup == nil {
		lookup = envconfig.OsLookuper()
	}
	v, _ := lookup.Lookup("STORAGE_EMULATOR_HOST")
	return v
}

// Variables returns the environment variables that Load reads into a struct
// like cfg, prefix included, in field order, through embedded structs.
func Variables(cfg any) []string {
	var names []string
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type)
				continue
			}
			if tag := f.Tag.Get("env"); tag != "" {
				names = append(names, Prefix+strings.TrimSpace(strings.Split(tag, ",")[0]))
			}
		}
	}
	walk(reflect.TypeOf(cfg))
	return names
}
