package bigquery

// DuckDB comes as a static C++ library, and on Linux Go's external linker
// passes -rdynamic, which exports every global symbol of it from the binary:
// 6.6 MB of dynamic symbol table that the dynamic loader reads on each start
// of a program that links the emulator (hiring and its tests). Nothing loads
// code that needs those symbols, so this flag, which comes after -rdynamic on
// the linker's command line, keeps them private. Symbols that shared
// libraries reference stay exported.

// #cgo linux LDFLAGS: -Wl,--no-export-dynamic
import "C"
