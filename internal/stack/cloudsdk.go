package stack

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// bqDiscovery is where the Google Cloud SDK keeps the discovery document of
// the BigQuery API that bq reads, under its installation folder. bq fetches
// the document from its API endpoint otherwise, which the local BigQuery does
// not serve.
const bqDiscovery = "platform/bq/discovery_next/bigquery.json"

// CloudSDK is how Google's own command-line tools, gcloud and bq, reach a
// running stack: `gcloud storage` through gcloud properties, bq through
// global flags.
type CloudSDK struct {
	// Properties are gcloud properties, section/name to value:
	// credentials off, the Cloud Storage endpoint and the project.
	Properties map[string]string
	// BQFlags are the global flags that make bq use the local BigQuery
	// without credentials. Empty when bq's discovery document was not
	// found.
	BQFlags []string
}

// CloudSDK returns the gcloud properties and bq flags for the stack. sdkRoot
// is the installation folder of the Google Cloud SDK (see SDKRoot); empty
// leaves BQFlags empty.
func (c Config) CloudSDK(sdkRoot string) CloudSDK {
	s := CloudSDK{Properties: map[string]string{
		"core/project":                   c.Project,
		"auth/disable_credentials":       "true",
		"api_endpoint_overrides/storage": "http://" + c.StorageEmulatorHost + "/storage/v1/",
	}}
	if sdkRoot != "" {
		s.BQFlags = []string{
			"--api", c.URL,
			"--project_id", c.Project,
			// bq's launcher asks gcloud for credentials unless a token
			// is given on the command line; the local BigQuery ignores it.
			"--oauth_access_token=unused",
			"--discovery_file", filepath.Join(sdkRoot, filepath.FromSlash(bqDiscovery)),
		}
	}
	return s
}

// Env returns the properties as the environment variables that gcloud reads
// over any configuration: CLOUDSDK_<SECTION>_<NAME>, upper case.
func (s CloudSDK) Env() map[string]string {
	env := make(map[string]string, len(s.Properties))
	for p, v := range s.Properties {
		env["CLOUDSDK_"+strings.ToUpper(strings.ReplaceAll(p, "/", "_"))] = v
	}
	return env
}

// SDKRoot returns the installation folder of the Google Cloud SDK that holds
// the bq on the PATH, found through bq's symbolic links (Debian's
// /usr/bin/bq points into /usr/lib/google-cloud-sdk/bin). It fails when bq
// is not on the PATH or its folder has no discovery document.
func SDKRoot() (string, error) {
	bq, err := exec.LookPath("bq")
	if err != nil {
		return "", fmt.Errorf("finding the Google Cloud SDK: %w", err)
	}
	real, err := filepath.EvalSymlinks(bq)
	if err != nil {
		return "", fmt.Errorf("finding the Google Cloud SDK: %w", err)
	}
	root := filepath.Dir(filepath.Dir(real))
	doc := filepath.Join(root, filepath.FromSlash(bqDiscovery))
	if _, err := os.Stat(doc); err != nil {
		return "", errors.Join(fmt.Errorf("finding the Google Cloud SDK: %s is not in a Google Cloud SDK installation", real), err)
	}
	return root, nil
}
