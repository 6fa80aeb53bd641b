// Package faultsuite holds no code: its tests run the pipeline as Google
// Cloud runs it (three instances of each function as separate processes,
// events delivered at least once, instances killed, BigQuery failing) and
// check exact row counts after each fault. See docs/ARCHITECTURE.md,
// "Delivery, retries and idempotency".
package faultsuite
