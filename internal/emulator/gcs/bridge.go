package gcs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/google/uuid"
	"github.com/sethvargo/go-retry"

	"github.com/hiring-pipeline/hiring-pipeline/internal/logging"
)

// Delivery bounds. Eventarc retries for up to 24 hours; locally a dead target
// should show up in the logs within minutes.
const (
	// DefaultRetryFor is how long a failing delivery is retried when
	// Options.RetryFor is zero.
	DefaultRetryFor = 2 * time.Minute
	minBackoff      = 100 * time.Millisecond
	maxBackoff      = 5 * time.Second
	// attemptTimeout bounds one POST like the longest acknowledgement
	// deadline of a Pub/Sub push subscription, Eventarc's transport.
	attemptTimeout = 10 * time.Minute
	// maxDeliveries bounds the events being delivered at once.
	maxDeliveries = 16
	// bodyInLog is how much of a failed answer's body a log line quotes.
	bodyInLog = 512
)

// Targets returns up to n distinct URLs of targets that an event may be
// delivered to, the first one first. The bridge calls it for every delivery
// attempt, so that a function running as several instances sees each attempt
// go to the instance it picks, and a redelivery reach another one. It must
// be safe for concurrent use; an empty answer fails the attempt, which is
// retried.
type Targets func(n int) []string

// errNoTarget fails an attempt for which Targets named no target.
var errNoTarget = errors.New("no target to deliver to")

// bridge receives one Server's notifications and delivers the forwarded ones
// as CloudEvents.
type bridge struct {
	channel   *channel
	baseURL   string
	idSpace   uuid.UUID
	retryFor  time.Duration
	redeliver float64
	logger    *slog.Logger
	http      *http.Client

	mu      sync.RWMutex
	targets map[string]Targets // by bucket

	// stopReceiving ends Receive; stopDelivering cancels deliveries in
	// flight, whose context outlives Receive's so that Close can wait for them.
	stopReceiving  context.CancelFunc
	stopDelivering context.CancelFunc
	delivering     context.Context
	received       chan struct{} // closed when Receive has returned
}

// startBridge starts receiving the notifications of c.
func startBridge(c *channel, baseURL string, idSpace uuid.UUID, opts Options) *bridge {
	receiving, stopReceiving := context.WithCancel(context.Background())
	delivering, stopDelivering := context.WithCancel(context.Background())
	b := &bridge{
		channel:        c,
		baseURL:        baseURL,
		idSpace:        idSpace,
		retryFor:       opts.RetryFor,
		redeliver:      opts.Redeliver,
		logger:         opts.Logger,
		http:           &http.Client{Transport: opts.Transport},
		targets:        map[string]Targets{},
		stopReceiving:  stopReceiving,
		stopDelivering: stopDelivering,
		delivering:     delivering,
		received:       make(chan struct{}),
	}
	sub := c.client.Subscriber(c.sub)
	sub.ReceiveSettings.MaxOutstandingMessages = maxDeliveries
	go func() {
		defer close(b.received)
		if err := sub.Receive(receiving, b.handle); err != nil {
			b.logger.Error("gcs emulator: receiving notifications stopped", "subscription", c.sub, logging.KeyError, err.Error())
		}
	}()
	return b
}

// forward sends the finalized events of bucket to target from now on.
func (b *bridge) forward(bucket, target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("forward %s: %w", bucket, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("forward %s: target %q is not an absolute http(s) URL", bucket, target)
	}
	return b.forwardTo(bucket, func(int) []string { return []string{target} })
}

// forwardTo sends the finalized events of bucket to the targets that pick
// names, from now on.
func (b *bridge) forwardTo(bucket string, pick Targets) error {
	if bucket == "" {
		return errors.New("forward: empty bucket name")
	}
	if pick == nil {
		return fmt.Errorf("forward %s: no targets", bucket)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.targets[bucket] = pick
	return nil
}

func (b *bridge) pick(bucket string) (Targets, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.targets[bucket]
	return t, ok
}

// handle delivers one notification if it is a finalize in a forwarded bucket,
// then acknowledges it: a delivery that failed for good is dropped, as
// Eventarc drops it. A fraction b.redeliver of the events is delivered twice,
// concurrently, to two targets when there are two, each copy retried on its
// own, as Eventarc's at-least-once delivery may. The message is left
// unacknowledged only when Close cut a delivery short.
func (b *bridge) handle(_ context.Context, msg *pubsub.Message) {
	if msg.Attributes["eventType"] != notificationFinalize {
		msg.Ack()
		return
	}
	pick, ok := b.pick(msg.Attributes["bucketId"])
	if !ok {
		b.logger.Debug("gcs emulator: object not forwarded", "bucket", msg.Attributes["bucketId"], "object", msg.Attributes["objectId"])
		msg.Ack()
		return
	}
	ev, err := newEvent(msg, b.baseURL, b.idSpace)
	if err != nil {
		b.logger.Error("gcs emulator: notification dropped", logging.KeyError, err.Error())
		msg.Ack()
		return
	}
	log := b.logger.With(logging.KeyIngestionID, ev.ingestionID(), "event_id", ev.id)
	copies := 1
	if b.redeliver > 0 && rand.Float64() < b.redeliver {
		copies = 2
	}
	first := pick(copies)
	if copies == 2 {
		log.Info("gcs emulator: delivering the event twice, concurrently (redelivery)", "targets", first)
	}
	cutShort := make([]bool, copies)
	var wg sync.WaitGroup
	for i := range copies {
		target := ""
		if len(first) > 0 {
			target = first[i%len(first)]
		}
		log := log
		if copies == 2 {
			log = log.With("copy", i+1)
		}
		wg.Go(func() { cutShort[i] = !b.deliverCopy(ev, target, pick, log) })
	}
	wg.Wait()
	for _, cut := range cutShort {
		if cut {
			msg.Nack()
			return
		}
	}
	msg.Ack()
}

// deliverCopy delivers ev, first to target, logs the outcome, and reports
// false when Close cut the delivery short.
func (b *bridge) deliverCopy(ev *event, target string, pick Targets, log *slog.Logger) bool {
	attempts, target, err := b.deliver(b.delivering, ev, target, pick, log)
	log = log.With("target", target, "attempts", attempts)
	switch {
	case err == nil:
		log.Info("gcs emulator: event delivered")
	case b.delivering.Err() != nil:
		log.Error("gcs emulator: event not delivered: emulator closed", logging.KeyError, err.Error())
		return false
	default:
		log.Error("gcs emulator: event dropped after retries", "retry_for", b.retryFor.String(), logging.KeyError, err.Error())
	}
	return true
}

// deliver POSTs ev until it is acknowledged, retrying with backoff for
// b.retryFor: the first attempt to target, unless it is empty, and every
// other to the first target pick names. It returns the number of attempts,
// the last target and the last error.
func (b *bridge) deliver(ctx context.Context, ev *event, target string, pick Targets, log *slog.Logger) (int, string, error) {
	backoff := retry.WithMaxDuration(b.retryFor, retry.WithCappedDuration(maxBackoff, retry.NewExponential(minBackoff)))
	attempts := 0
	err := retry.Do(ctx, backoff, func(ctx context.Context) error {
		attempts++
		if attempts > 1 || target == "" {
			target = ""
			if t := pick(1); len(t) > 0 {
				target = t[0]
			}
		}
		err := errNoTarget
		if target != "" {
			err = b.post(ctx, ev, target)
		}
		if err != nil {
			log.Warn("gcs emulator: event delivery failed", "target", target, "attempt", attempts, logging.KeyError, err.Error())
			return retry.RetryableError(err)
		}
		return nil
	})
	return attempts, target, err
}

// post makes one delivery attempt; any answer but a 2xx is an error.
func (b *bridge) post(ctx context.Context, ev *event, target string) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(ev.data))
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	ev.header(req.Header)
	resp, err := b.http.Do(req)
	if err != nil {
		return fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	// The status alone acknowledges or refuses the event, as in Eventarc: the
	// body is only quoted in the error, and drained so that the connection
	// can be reused, and failing to read it changes nothing.
	body, _ := io.ReadAll(io.LimitReader(resp.Body, bodyInLog))
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("post: %s: %q", resp.Status, body)
	}
	return nil
}

// close stops receiving and waits for the deliveries in flight until ctx is
// done, then cancels them and waits for them to return.
func (b *bridge) close(ctx context.Context) error {
	b.stopReceiving()
	var err error
	select {
	case <-b.received:
	case <-ctx.Done():
		err = fmt.Errorf("wait for deliveries in flight: %w", context.Cause(ctx))
		b.stopDelivering()
		<-b.received
	}
	b.stopDelivering()
	return err
}
