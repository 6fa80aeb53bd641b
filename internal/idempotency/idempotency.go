// Package idempotency makes a request that carries an Idempotency-Key take
// effect once, whichever instance of a function receives it and however
// many times it is sent, with one claim object per key in Cloud Storage.
//
// Cloud Storage is strongly consistent and its writes take preconditions on
// an object's generation, which is all a lock needs: the first request
// creates the claim with ifGenerationMatch=0 and wins; every later change
// names the generation it read, so two instances can never both believe
// they own a key. The claim keeps the request's fingerprint (a SHA-256 of
// what the request asks), when it was first received, its state and lease.
//
// Cloud Storage takes about one write per second to one object name, so
// the claim is written once in the common case: the answer and each step
// done are objects of their own beside it (<claim>.<epoch>.answer,
// <claim>.<epoch>.step.<name>), each created once with ifGenerationMatch=0.
// The claim object changes only when an attempt is taken over or released.
// The epoch is a random id of the claim's life, so that a claim begun again
// after its retention never sees the answer of its former life.
package idempotency

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

// State is where the processing of a claimed request stands.
type State string

// The states of a claim. A claim whose answer object exists is done,
// whatever its state says.
const (
	// InProgress: an instance is processing the request until LeaseUntil.
	// After that the instance is presumed dead and the next request with
	// the key takes the claim over.
	InProgress State = "in_progress"
	// Released: an attempt failed in a way worth retrying (a 503); the next
	// request with the key takes the claim over at once.
	Released State = "released"
)

// record is a claim object's content.
type record struct {
	Scope  string `json:"scope"`
	Caller string `json:"caller"`
	Key    string `json:"key"`
	// Fingerprint is the hex SHA-256 of what the request asks.
	Fingerprint string `json:"fingerprint"`
	// ReceivedAt is when the key was first received; takeovers keep it.
	ReceivedAt time.Time `json:"received_at"`
	// Epoch names this life of the claim in the names of its answer and
	// step objects; takeovers keep it.
	Epoch string `json:"epoch"`
	State State  `json:"state"`
	// Attempt counts the instances that took the claim.
	Attempt int `json:"attempt"`
	// Owner is a random token of the attempt that holds the claim, so that
	// an attempt recognises its own write when a retried upload finds it.
	Owner      string    `json:"owner"`
	LeaseUntil time.Time `json:"lease_until"`
}

// Options configure a Store.
type Options struct {
	// Prefix starts every claim object's name, e.g. "idempotency/".
	Prefix string
	// Lease is how long an attempt may hold a claim: the function's
	// timeout. A claim left in progress longer is taken over.
	Lease time.Duration
	// Retention is how long a claim answers for its key. A request with the
	// key after that is a new one. A lifecycle rule of the bucket deletes
	// claims some time after; the Store does not rely on it.
	Retention time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store keeps claims in one bucket. It is safe for concurrent use, and any
// number of Stores in any number of processes may share a bucket.
type Store struct {
	bucket *storage.BucketHandle
	opts   Options
}

// New returns a Store of claims in bucket.
func New(gcs *storage.Client, bucket string, opts Options) (*Store, error) {
	switch {
	case gcs == nil || bucket == "":
		return nil, errors.New("idempotency.New: the Storage client and the bucket are required")
	case opts.Lease <= 0 || opts.Retention <= 0:
		return nil, fmt.Errorf("idempotency.New: the lease (%s) and the retention (%s) must be positive", opts.Lease, opts.Retention)
	case opts.Retention < opts.Lease:
		return nil, fmt.Errorf("idempotency.New: the retention (%s) is shorter than the lease (%s)", opts.Retention, opts.Lease)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Store{bucket: gcs.Bucket(bucket), opts: opts}, nil
}

// Request identifies a request for Begin.
type Request struct {
	// Scope and Caller scope the key: the same key sent for another table
	// or by another caller is another key.
	Scope, Caller string
	// Key is the Idempotency-Key.
	Key string
	// Fingerprint is a SHA-256 of what the request asks (see Fingerprint);
	// the same key with another fingerprint is refused.
	Fingerprint [sha256.Size]byte
}

// Outcome is what Begin found.
type Outcome int

// The outcomes of Begin.
const (
	// Claimed: the caller holds the claim and must process the request,
	// then Finish or Release it.
	Claimed Outcome = iota + 1
	// Replay: the key was answered; Result.Answer is that answer.
	Replay
	// Busy: another attempt holds the claim; retry after Result.RetryAfter.
	Busy
	// Reused: the key was used for a request with another fingerprint.
	Reused
)

// Result is what Begin found, and the claim when it is Claimed.
type Result struct {
	Outcome    Outcome
	Claim      *Claim
	Answer     httpapi.Answer
	RetryAfter time.Duration
}

// maxContention bounds how often Begin re-reads a claim that changed under
// it.
const maxContention = 5

// Begin claims a request's key, or tells why not. Its error is a failure of
// Cloud Storage (or a claim that kept changing), worth a retry.
func (s *Store) Begin(ctx context.Context, req Request) (Result, error) {
	name := s.name(req)
	fp := hex.EncodeToString(req.Fingerprint[:])
	for range maxContention {
		now := s.opts.Now().UTC()
		epoch, err := token()
		if err != nil {
			return Result{}, err
		}
		fresh := record{Scope: req.Scope, Caller: req.Caller, Key: req.Key, Fingerprint: fp, ReceivedAt: now, Epoch: epoch}
		c, err := s.take(ctx, name, fresh, storage.Conditions{DoesNotExist: true})
		if err == nil {
			return Result{Outcome: Claimed, Claim: c}, nil
		}
		if !isPrecondition(err) {
			return Result{}, err
		}
		old, gen, err := s.read(ctx, name)
		if errors.Is(err, storage.ErrObjectNotExist) {
			continue // deleted since: expired
		}
		if err != nil {
			return Result{}, err
		}
		if now.After(old.ReceivedAt.Add(s.opts.Retention)) {
			c, err := s.take(ctx, name, fresh, storage.Conditions{GenerationMatch: gen})
			if isPrecondition(err) {
				continue
			}
			if err != nil {
				return Result{}, err
			}
			return Result{Outcome: Claimed, Claim: c}, nil
		}
		if old.Fingerprint != fp {
			return Result{Outcome: Reused}, nil
		}
		a, done, err := s.answer(ctx, name, old.Epoch)
		if err != nil {
			return Result{}, err
		}
		if done {
			return Result{Outcome: Replay, Answer: a}, nil
		}
		if old.State == InProgress && now.Before(old.LeaseUntil) {
			return Result{Outcome: Busy, RetryAfter: min(old.LeaseUntil.Sub(now), time.Second)}, nil
		}
		c, err = s.take(ctx, name, old, storage.Conditions{GenerationMatch: gen})
		if isPrecondition(err) {
			continue
		}
		if err != nil {
			return Result{}, err
		}
		return Result{Outcome: Claimed, Claim: c}, nil
	}
	return Result{}, fmt.Errorf("idempotency: the claim %s changed %d times while it was read", name, maxContention)
}

// answer reads the answer of a claim's epoch, if there is one.
func (s *Store) answer(ctx context.Context, claim, epoch string) (httpapi.Answer, bool, error) {
	data, _, err := s.get(ctx, answerName(claim, epoch))
	if errors.Is(err, storage.ErrObjectNotExist) {
		return httpapi.Answer{}, false, nil
	}
	if err != nil {
		return httpapi.Answer{}, false, err
	}
	var a httpapi.Answer
	if err := json.Unmarshal(data, &a); err != nil {
		return httpapi.Answer{}, false, fmt.Errorf("idempotency: the answer of %s is not valid JSON: %w", claim, err)
	}
	return a, true, nil
}

func answerName(claim, epoch string) string { return claim + "." + epoch + ".answer" }

func stepName(claim, epoch, step string) string { return claim + "." + epoch + ".step." + step }

// take writes rec as a new attempt's claim, under cond.
func (s *Store) take(ctx context.Context, name string, rec record, cond storage.Conditions) (*Claim, error) {
	owner, err := token()
	if err != nil {
		return nil, err
	}
	rec.State, rec.Owner = InProgress, owner
	rec.Attempt++
	rec.LeaseUntil = s.opts.Now().UTC().Add(s.opts.Lease)
	c := &Claim{s: s, name: name, rec: rec}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, fmt.Errorf("idempotency: encode %s: %w", name, err)
	}
	if c.gen, err = s.put(ctx, name, data, cond); err != nil {
		return nil, err
	}
	return c, nil
}

// name is the claim object of a request: the scope in clear, then a hash of
// the caller and the key, which may hold any visible character.
func (s *Store) name(req Request) string {
	h := sha256.Sum256([]byte(req.Caller + "\n" + req.Key))
	return s.opts.Prefix + req.Scope + "/" + hex.EncodeToString(h[:]) + ".json"
}

// read returns a claim and its generation.
func (s *Store) read(ctx context.Context, name string) (record, int64, error) {
	data, gen, err := s.get(ctx, name)
	if err != nil {
		return record{}, 0, err
	}
	var rec record
	if err := json.Unmarshal(data, &rec); err != nil {
		return record{}, 0, fmt.Errorf("idempotency: claim %s is not valid JSON: %w", name, err)
	}
	return rec, gen, nil
}

// get returns an object's content and generation; a missing object is
// storage.ErrObjectNotExist.
func (s *Store) get(ctx context.Context, name string) ([]byte, int64, error) {
	r, err := s.bucket.Object(name).NewReader(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("idempotency: read %s: %w", name, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, 0, fmt.Errorf("idempotency: read %s: %w", name, err)
	}
	return data, r.Attrs.Generation, nil
}

// put uploads data in one request under cond and returns the new
// generation. The client retries a failed upload that has a precondition;
// when a retry finds this very content already written, that is a
// success: every content written here is unique (an owner token) or the
// same whoever writes it (an answer, a step).
func (s *Store) put(ctx context.Context, name string, data []byte, cond storage.Conditions) (int64, error) {
	w := s.bucket.Object(name).If(cond).NewWriter(ctx)
	w.ContentType = "application/json"
	w.ChunkSize = 0 // one request, no resumable session
	_, err := w.Write(data)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		return w.Attrs().Generation, nil
	}
	if !isPrecondition(err) {
		return 0, fmt.Errorf("idempotency: write %s: %w", name, err)
	}
	if stored, gen, rerr := s.get(ctx, name); rerr == nil && bytes.Equal(stored, data) {
		return gen, nil
	}
	return 0, err
}

// Claim is an attempt's hold on a key. Release changes the claim only if
// nobody took it over since; Step and Finish create objects of their own,
// once per claim's epoch.
type Claim struct {
	s    *Store
	name string
	gen  int64
	rec  record
}

// ErrLost reports that another attempt took the claim over (this attempt
// outlived its lease) or answered it differently.
var ErrLost = errors.New("idempotency: the claim was taken over by another attempt")

// ReceivedAt is when the key was first received, whichever attempt this is.
func (c *Claim) ReceivedAt() time.Time { return c.rec.ReceivedAt }

// Attempt counts the attempts at the key, this one included.
func (c *Claim) Attempt() int { return c.rec.Attempt }

// Deadline is the end of this attempt's lease: work after it may overlap
// with a takeover.
func (c *Claim) Deadline() time.Time { return c.rec.LeaseUntil }

// Done reports whether an attempt at this key recorded step with Step.
func (c *Claim) Done(ctx context.Context, step string) (bool, error) {
	if c.rec.Attempt == 1 {
		return false, nil // a claim's first attempt starts a new epoch
	}
	_, _, err := c.s.get(ctx, stepName(c.name, c.rec.Epoch, step))
	if errors.Is(err, storage.ErrObjectNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Step records that a side effect is done, so that a takeover skips it.
// Recording it again is not an error.
func (c *Claim) Step(ctx context.Context, step string) error {
	_, err := c.s.put(ctx, stepName(c.name, c.rec.Epoch, step), []byte("{}"), storage.Conditions{DoesNotExist: true})
	if isPrecondition(err) {
		return nil
	}
	return err
}

// Finish records the answer: every later request with the key and the same
// fingerprint is answered with it, until the retention ends. The first
// answer recorded wins. Attempts at the same request answer the same, so a
// late attempt that finds its answer recorded succeeds; one that finds
// another answer gets ErrLost.
func (c *Claim) Finish(ctx context.Context, a httpapi.Answer) error {
	data, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("idempotency: encode the answer of %s: %w", c.name, err)
	}
	_, err = c.s.put(ctx, answerName(c.name, c.rec.Epoch), data, storage.Conditions{DoesNotExist: true})
	if isPrecondition(err) {
		return ErrLost
	}
	return err
}

// Release gives the claim up after a failure worth retrying: the next
// request with the key takes it over at once, keeping ReceivedAt and the
// steps done.
func (c *Claim) Release(ctx context.Context) error {
	next := c.rec
	next.State = Released
	data, err := json.Marshal(next)
	if err != nil {
		return fmt.Errorf("idempotency: encode %s: %w", c.name, err)
	}
	gen, err := c.s.put(ctx, c.name, data, storage.Conditions{GenerationMatch: c.gen})
	if isPrecondition(err) {
		return ErrLost
	}
	if err != nil {
		return err
	}
	c.rec, c.gen = next, gen
	return nil
}

func isPrecondition(err error) bool {
	var ge *googleapi.Error
	return errors.As(err, &ge) && ge.Code == http.StatusPreconditionFailed
}

func token() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("idempotency: random token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// Fingerprint hashes the parts of a request that say what it asks, each
// length-prefixed so that no two lists of parts hash alike.
func Fingerprint(parts ...[]byte) [sha256.Size]byte {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}
