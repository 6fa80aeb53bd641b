// Package procstat reads the memory figures and CPU times of processes from
// Linux's /proc, for the benchmarks.
package procstat

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ErrUnsupported is returned where /proc is not available (or the process
// is gone).
var ErrUnsupported = errors.New("procstat: /proc is not available on this system")

// PeakRSS returns the peak resident set size of the process (VmHWM), in
// bytes, since it started or since the last ResetPeak.
func PeakRSS() (int64, error) { return statusField("self", "VmHWM") }

// PeakRSSOf returns the peak resident set size of another process, in bytes.
func PeakRSSOf(pid int) (int64, error) { return statusField(strconv.Itoa(pid), "VmHWM") }

// RSS returns the current resident set size (VmRSS), in bytes.
func RSS() (int64, error) { return statusField("self", "VmRSS") }

// ResetPeak resets the peak resident set size to the current one, so that
// PeakRSS measures a phase of the process.
func ResetPeak() error {
	f, err := os.OpenFile("/proc/self/clear_refs", os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	defer f.Close()
	if _, err := f.WriteString("5"); err != nil {
		return fmt.Errorf("procstat: reset peak RSS: %w", err)
	}
	return nil
}

func statusField(process, name string) (int64, error) {
	f, err := os.Open("/proc/" + process + "/status")
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || key != name {
			continue
		}
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("procstat: unexpected %s line %q", name, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: %s: %w", name, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("procstat: %w", err)
	}
	return 0, fmt.Errorf("procstat: no %s in /proc/self/status", name)
}

// userHZ is the unit of the CPU times of /proc/<pid>/stat: USER_HZ, 100 on
// every Linux architecture Go supports.
const userHZ = 100

// CPUTimeOf returns the CPU time, user and system, that a process has spent
// since it started, in all its threads, ended ones included
// (/proc/<pid>/stat), to the 10 ms of USER_HZ.
func CPUTimeOf(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("%w: %v", ErrUnsupported, err)
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// the fields after it start after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("procstat: unexpected /proc/%d/stat %q", pid, b)
	}
	fields := strings.Fields(string(b[i+1:]))
	// fields[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(fields) < 13 {
		return 0, fmt.Errorf("procstat: unexpected /proc/%d/stat %q", pid, b)
	}
	var ticks int64
	for _, f := range fields[11:13] {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("procstat: /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}
