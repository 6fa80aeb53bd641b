package gcs

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/google/uuid"
)

// pubsubEmulatorHost is the variable that cloud.google.com/go/pubsub/v2 reads
// to talk to an emulator instead of Google.
const pubsubEmulatorHost = "PUBSUB_EMULATOR_HOST"

// processPubSub is the in-process Pub/Sub shared by every Server of the
// process: fake-gcs-server's publisher can only be pointed at one emulator,
// through the process environment.
var processPubSub struct {
	once sync.Once
	err  error
	// idSpace makes CloudEvent ids from Pub/Sub message ids, which pstest
	// numbers from zero in every process: the ids stay stable across
	// redeliveries of one message and unique across processes.
	idSpace uuid.UUID
	// instances numbers the topics of the Servers of this process.
	instances atomic.Int64
}

// startPubSub starts the process's Pub/Sub on first use and points
// PUBSUB_EMULATOR_HOST at it. A failure is remembered: later calls return it.
func startPubSub() (uuid.UUID, error) {
	processPubSub.once.Do(func() {
		addr, err := listenPubSub()
		if err == nil {
			err = os.Setenv(pubsubEmulatorHost, addr)
		}
		if err != nil {
			processPubSub.err = fmt.Errorf("start in-process Pub/Sub: %w", err)
			return
		}
		processPubSub.idSpace = uuid.New()
	})
	return processPubSub.idSpace, processPubSub.err
}

// listenPubSub starts pstest, which panics when it cannot listen; the panic is
// turned into an error so that a busy machine fails Start instead of the
// process.
func listenPubSub() (addr string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pstest: %v", r)
		}
	}()
	return pstest.NewServerWithAddress("127.0.0.1:0").Addr, nil
}

// channel is one Server's topic and subscription in the process's Pub/Sub.
type channel struct {
	client  *pubsub.Client
	topicID string
	topic   string
	sub     string
}

// openChannel creates a topic and a subscription to it that no other Server
// of the process uses. The topic exists before fake-gcs-server can publish,
// and the subscription keeps what is published before anyone receives.
func openChannel(ctx context.Context, project string) (*channel, error) {
	client, err := pubsub.NewClient(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("pubsub.NewClient: %w", err)
	}
	id := fmt.Sprintf("fake-gcs-%d", processPubSub.instances.Add(1))
	c := &channel{
		client:  client,
		topicID: id,
		topic:   "projects/" + project + "/topics/" + id,
		sub:     "projects/" + project + "/subscriptions/" + id + "-eventarc",
	}
	if _, err := client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: c.topic}); err != nil {
		return nil, errors.Join(fmt.Errorf("create topic %s: %w", c.topic, err), client.Close())
	}
	_, err = client.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:  c.sub,
		Topic: c.topic,
	})
	if err != nil {
		return nil, errors.Join(
			fmt.Errorf("create subscription %s: %w", c.sub, err),
			client.TopicAdminClient.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: c.topic}),
			client.Close(),
		)
	}
	return c, nil
}

// close deletes the subscription and the topic, whose messages would
// otherwise stay in memory for the life of the process, and closes the client.
func (c *channel) close(ctx context.Context) error {
	var errs []error
	if err := c.client.SubscriptionAdminClient.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: c.sub}); err != nil {
		errs = append(errs, fmt.Errorf("delete subscription %s: %w", c.sub, err))
	}
	if err := c.client.TopicAdminClient.DeleteTopic(ctx, &pubsubpb.DeleteTopicRequest{Topic: c.topic}); err != nil {
		errs = append(errs, fmt.Errorf("delete topic %s: %w", c.topic, err))
	}
	if err := c.client.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close Pub/Sub client: %w", err))
	}
	return errors.Join(errs...)
}
