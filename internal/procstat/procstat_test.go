package procstat_test

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/procstat"
)

func TestPeakRSS_GrowsAndResets(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, err := procstat.PeakRSS(); !errors.Is(err, procstat.ErrUnsupported) {
			t.Fatalf("PeakRSS on %s: %v, want ErrUnsupported", runtime.GOOS, err)
		}
		t.Skip("peak RSS is read from Linux's /proc")
	}
	before, err := procstat.PeakRSS()
	if err != nil {
		t.Fatalf("PeakRSS: %v", err)
	}
	block := make([]byte, 64<<20)
	for i := range block {
		block[i] = byte(i)
	}
	grown, err := procstat.PeakRSS()
	if err != nil {
		t.Fatalf("PeakRSS: %v", err)
	}
	if grown < before+60<<20 {
		t.Errorf("peak RSS went from %d to %d after touching 64 MiB", before, grown)
	}
	runtime.KeepAlive(block)
	block = nil
	runtime.GC()
	if err := procstat.ResetPeak(); err != nil {
		t.Fatalf("ResetPeak: %v", err)
	}
	now, err := procstat.RSS()
	if err != nil {
		t.Fatalf("RSS: %v", err)
	}
	peak, err := procstat.PeakRSS()
	if err != nil {
		t.Fatalf("PeakRSS: %v", err)
	}
	if peak > now+8<<20 {
		t.Errorf("after ResetPeak the peak is %d, the current RSS %d", peak, now)
	}
}

func TestCPUTimeOf_Grows(t *testing.T) {
	if runtime.GOOS != "linux" {
		if _, err := procstat.CPUTimeOf(os.Getpid()); !errors.Is(err, procstat.ErrUnsupported) {
			t.Fatalf("CPUTimeOf on %s: %v, want ErrUnsupported", runtime.GOOS, err)
		}
		t.Skip("CPU times are read from Linux's /proc")
	}
	before, err := procstat.CPUTimeOf(os.Getpid())
	if err != nil {
		t.Fatalf("CPUTimeOf: %v", err)
	}
	// Spin until the kernel counts 200 ms more of this process's CPU time,
	// however long that takes on a busy machine.
	usage := func() time.Duration {
		var rusage syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &rusage); err != nil {
			t.Fatal(err)
		}
		return time.Duration(rusage.Utime.Nano() + rusage.Stime.Nano())
	}
	start := usage()
	x := 0
	for usage()-start < 200*time.Millisecond {
		x++
	}
	after, err := procstat.CPUTimeOf(os.Getpid())
	if err != nil {
		t.Fatalf("CPUTimeOf: %v", err)
	}
	self := usage()
	if after-before < 150*time.Millisecond || after > self+20*time.Millisecond {
		t.Errorf("CPU time went from %s to %s over 200 ms of CPU (%d loops); getrusage says %s", before, after, x, self)
	}
	if _, err := procstat.CPUTimeOf(-1); !errors.Is(err, procstat.ErrUnsupported) {
		t.Errorf("CPUTimeOf(-1): %v, want ErrUnsupported", err)
	}
}
