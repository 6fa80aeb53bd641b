//go:build linux

package bigquery_test

import (
	"debug/elf"
	"os"
	"strings"
	"testing"
)

// The test binary links the emulator, so its dynamic symbol table shows
// whether DuckDB's symbols stayed private (link.go).
func TestDuckDBSymbolsNotExported(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	exported := 0
	for _, s := range syms {
		if strings.HasPrefix(s.Name, "_ZN6duckdb") && s.Section != elf.SHN_UNDEF {
			exported++
		}
	}
	if exported > 0 {
		t.Errorf("%s exports %d of DuckDB's symbols (of %d dynamic symbols); want none", exe, exported, len(syms))
	}
}
