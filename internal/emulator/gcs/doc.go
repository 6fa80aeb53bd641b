// Package gcs runs the local Cloud Storage of hiring-pipeline in process:
// github.com/fsouza/fake-gcs-server on a real TCP listener, plus a bridge
// that turns its object notifications into the CloudEvents that Eventarc
// delivers, so that code under test and the local stack talk to it exactly as
// they talk to Google Cloud.
//
// The emulator is checked with Google's own clients: the Go client and the
// real `gcloud storage` (cp, ls, cat, rm, objects describe). Where
// fake-gcs-server answers differently from Cloud Storage in a way that breaks
// them, the server corrects the answer: a successful delete answers 204 with
// no body. The server also keeps the chunks of a resumable upload itself, at
// the offsets their Content-Range names, and creates the object at the last
// chunk in one streaming request: fake-gcs-server alone re-reads and
// re-hashes the whole object at every chunk (quadratic in the chunks) and
// stores a chunk sent again twice.
//
// Clients reach the emulator through the STORAGE_EMULATOR_HOST environment
// variable, set to [Server.Host], which cloud.google.com/go/storage honours by
// itself, or through [Server.Client].
//
// # Object notifications
//
// fake-gcs-server publishes its notifications to Pub/Sub with a client that
// only honours the PUBSUB_EMULATOR_HOST environment variable. The first
// [Start] in a process therefore starts an in-process Pub/Sub
// (cloud.google.com/go/pubsub/v2/pstest) and sets PUBSUB_EMULATOR_HOST in the
// process environment to its address, overriding any earlier value, for the
// rest of the process: every Pub/Sub client built afterwards in the same
// process talks to that in-process Pub/Sub. Each [Server] publishes to its own
// topic and reads its own subscription, so several servers in one process
// never see each other's events.
//
// # The Eventarc bridge
//
// For every bucket registered with [Server.Forward], each OBJECT_FINALIZE
// notification becomes one google.cloud.storage.object.v1.finalized CloudEvent,
// POSTed to the target in binary content mode with the object resource as its
// JSON body, as Eventarc does. Delivery follows an Eventarc trigger with a
// retry policy: a 2xx answer acknowledges the event; any other answer or a
// connection error is retried with exponential backoff until
// [Options.RetryFor] has passed, after which the event is logged at ERROR and
// dropped. Events are delivered at least once and in no particular order.
// With [Server.ForwardTo], each attempt goes to the target that the bucket's
// [Targets] name then, so a retry may reach another instance of a function;
// [Options.Redeliver] delivers a fraction of the events twice, concurrently,
// to two targets, as Eventarc sometimes does.
package gcs
