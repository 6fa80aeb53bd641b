package stack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/sethvargo/go-retry"

	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
)

// Replacement of instances that exit, as Cloud Run replaces a crashed one.
const (
	// stableAfter is how long an instance must have run for its exit to be
	// replaced at once; replacements of instances that exit sooner, one
	// after the other, wait longer and longer.
	stableAfter = 10 * time.Second
	// minRestartDelay and maxRestartDelay bound those waits.
	minRestartDelay = 250 * time.Millisecond
	maxRestartDelay = 30 * time.Second
)

// Instance is one running copy of a function.
type Instance struct {
	// PID is the instance's process id; the stack's own when the functions
	// run in the stack's process (Options.Instances 0 or 1).
	PID int `json:"pid"`
	// URL serves this instance alone, with the function's routes at its
	// root: http://127.0.0.1:PORT, or <stack URL>/<name> in process.
	URL string `json:"url"`
	// InFlight counts the requests that the stack's proxy and the Eventarc
	// bridge have sent to the instance and whose answers they have not yet
	// closed (in process: the requests the function is serving).
	InFlight int `json:"in_flight"`
}

// fleet keeps a function's instances running and picks one for each
// request, round-robin.
type fleet struct {
	def      function.Definition
	launcher *launcher
	tracker  *tracker
	logger   *slog.Logger

	mu      sync.Mutex
	live    []*instance   // ready and not seen to exit, in start order
	next    int           // round-robin cursor into live
	changed chan struct{} // closed, and replaced, whenever live changes
	started int           // instances started so far, for their ids
}

func newFleet(d function.Definition, l *launcher, t *tracker, logger *slog.Logger) *fleet {
	return &fleet{def: d, launcher: l, tracker: t, logger: logger.With("function", d.Name), changed: make(chan struct{})}
}

// start starts a new instance; it is not live until add.
func (f *fleet) start() (*instance, error) {
	f.mu.Lock()
	f.started++
	id := f.def.Name + "-" + strconv.Itoa(f.started)
	f.mu.Unlock()
	return f.launcher.start(f.def, id)
}

// add makes inst live: picked for requests and listed.
func (f *fleet) add(inst *instance) {
	f.tracker.add(inst)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live = append(f.live, inst)
	f.notify()
}

// remove stops picking inst.
func (f *fleet) remove(inst *instance) {
	f.tracker.remove(inst)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.live = slices.DeleteFunc(f.live, func(x *instance) bool { return x == inst })
	f.notify()
}

// notify wakes those waiting for a change of live; f.mu must be held.
func (f *fleet) notify() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// pick returns the next live instance, round-robin, that is not in skip. When
// there is none, it returns nil and a channel that is closed when the live
// instances change.
func (f *fleet) pick(skip map[*instance]bool) (*instance, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range f.live {
		inst := f.live[f.next%len(f.live)]
		f.next++
		if !skip[inst] {
			return inst, nil
		}
	}
	return nil, f.changed
}

// urls returns the URLs of up to n distinct live instances, starting at the
// round-robin cursor, which moves on by one. It is the fleet's
// gcs.Targets.
func (f *fleet) urls(n int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.live) == 0 {
		return nil
	}
	out := make([]string, 0, min(n, len(f.live)))
	for i := range min(n, len(f.live)) {
		out = append(out, f.live[(f.next+i)%len(f.live)].url)
	}
	f.next++
	return out
}

// snapshot lists the live instances.
func (f *fleet) snapshot() []Instance {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Instance, 0, len(f.live))
	for _, inst := range f.live {
		out = append(out, inst.snapshot())
	}
	return out
}

// supervise replaces inst whenever it exits, until the stack closes; it
// returns once the last instance it ran has exited.
func (f *fleet) supervise(inst *instance) {
	ctx := f.launcher.ctx
	// backoff spaces the starts after quick failures in a row; nil means
	// that the next start is immediate.
	var backoff retry.Backoff
	for {
		<-inst.exited
		f.remove(inst)
		if ctx.Err() != nil {
			return
		}
		if time.Since(inst.ready) >= stableAfter {
			backoff = nil
		}
		next := f.replace(ctx, inst, &backoff)
		if next == nil {
			return
		}
		inst = next
	}
}

// replace starts the successor of old, waiting between attempts as backoff
// says, and logs the replacement. It returns nil when the stack closes
// first.
func (f *fleet) replace(ctx context.Context, old *instance, backoff *retry.Backoff) *instance {
	for {
		var delay time.Duration
		if *backoff == nil {
			*backoff = retry.WithCappedDuration(maxRestartDelay, retry.NewExponential(minRestartDelay))
		} else {
			delay, _ = (*backoff).Next()
			f.logger.Warn("stack: function instances keep failing; waiting before the next start", "delay", delay.String())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		next, err := f.start()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			f.logger.Error("stack: cannot start a replacement instance", "old_pid", old.pid, logging.KeyError, err.Error())
			continue
		}
		f.add(next)
		f.logger.Warn("stack: function instance exited; replaced it",
			"old_pid", old.pid, "exit", old.exitStatus(), "new_pid", next.pid, "url", next.url, "instance", next.id)
		return next
	}
}

// fleets runs every function as processes; it is nil when the stack serves
// them in process.
type fleets struct {
	byName map[string]*fleet
	stop   context.CancelFunc
	wg     sync.WaitGroup // supervisors
}

// startAll starts n instances of every fleet at once and supervises them.
// On error, the instances started so far keep running until close.
func (fs *fleets) startAll(n int) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, f := range fs.byName {
		for range n {
			wg.Go(func() {
				inst, err := f.start()
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("function %s: %w", f.def.Name, err))
					mu.Unlock()
					return
				}
				f.add(inst)
				fs.wg.Go(func() { f.supervise(inst) })
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

// close stops every instance (SIGTERM, then SIGKILL after stopGrace) and
// waits for their ends.
func (fs *fleets) close() {
	fs.stop()
	fs.wg.Wait()
}
