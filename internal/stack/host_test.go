package stack_test

import (
	"net"
	"net/url"
	"testing"

	"github.com/hiring-pipeline/hiring-pipeline/internal/stack"
)

// TestStack_AllInterfaces starts a stack on 0.0.0.0, as hiring dev --host
// 0.0.0.0 does in a container: its addresses name 0.0.0.0, and it answers on
// an address of loopback other than 127.0.0.1, which a stack that listened
// on 127.0.0.1 alone would refuse.
func TestStack_AllInterfaces(t *testing.T) {
	t.Parallel()
	st := start(t, stack.Options{Host: "0.0.0.0"})
	cfg := st.Config()
	u, err := url.Parse(cfg.URL)
	if err != nil {
		t.Fatal(err)
	}
	for what, hostport := range map[string]string{
		"url":                       u.Host,
		"storage_emulator_host":     cfg.StorageEmulatorHost,
		"bigquery_storage_endpoint": cfg.BigQueryStorageEndpoint,
	} {
		if host, _, err := net.SplitHostPort(hostport); err != nil || host != "0.0.0.0" {
			t.Errorf("%s %q, want 0.0.0.0:PORT", what, hostport)
		}
	}
	var health map[string]string
	getJSON(t, "http://127.0.0.2:"+u.Port()+"/healthz", &health)
	if health["status"] != "ok" {
		t.Errorf("/healthz at 127.0.0.2: %v", health)
	}
	var list struct {
		Kind string `json:"kind"`
	}
	_, port, _ := net.SplitHostPort(cfg.StorageEmulatorHost)
	getJSON(t, "http://127.0.0.2:"+port+"/storage/v1/b/"+cfg.Buckets.Landing+"/o", &list)
	if list.Kind != "storage#objects" {
		t.Errorf("listing the landing bucket at 127.0.0.2: kind %q, want storage#objects", list.Kind)
	}
}
