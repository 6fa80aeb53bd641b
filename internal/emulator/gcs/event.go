package gcs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/google/uuid"
)

// What Cloud Storage calls a new object in its Pub/Sub notifications, and what
// Eventarc calls it in its CloudEvents.
const (
	notificationFinalize = "OBJECT_FINALIZE"
	finalizedType        = "google.cloud.storage.object.v1.finalized"
)

// notification is the JSON_API_V1 payload that fake-gcs-server publishes: a
// subset of the object resource.
type notification struct {
	Name            string            `json:"name"`
	Bucket          string            `json:"bucket"`
	Generation      int64             `json:"generation,string"`
	ContentType     string            `json:"contentType"`
	ContentEncoding string            `json:"contentEncoding"`
	TimeCreated     string            `json:"timeCreated"`
	Updated         string            `json:"updated"`
	StorageClass    string            `json:"storageClass"`
	Size            int64             `json:"size,string"`
	MD5Hash         string            `json:"md5Hash"`
	CRC32C          string            `json:"crc32c"`
	Metadata        map[string]string `json:"metadata"`
}

// objectData is the object resource as the Cloud Storage JSON API writes it,
// which Eventarc sends as the data of storage events: 64-bit numbers are
// strings.
type objectData struct {
	Kind            string            `json:"kind"`
	ID              string            `json:"id"`
	SelfLink        string            `json:"selfLink"`
	Name            string            `json:"name"`
	Bucket          string            `json:"bucket"`
	Generation      int64             `json:"generation,string"`
	Metageneration  int64             `json:"metageneration,string"`
	ContentType     string            `json:"contentType,omitempty"`
	ContentEncoding string            `json:"contentEncoding,omitempty"`
	TimeCreated     string            `json:"timeCreated"`
	Updated         string            `json:"updated"`
	StorageClass    string            `json:"storageClass"`
	Size            int64             `json:"size,string"`
	MD5Hash         string            `json:"md5Hash,omitempty"`
	MediaLink       string            `json:"mediaLink"`
	CRC32C          string            `json:"crc32c,omitempty"`
	Etag            string            `json:"etag"`
	Metadata        map[string]string `json:"metadata,omitempty"`
}

// event is one finalized CloudEvent, ready to be POSTed as many times as
// delivery takes.
type event struct {
	id         string
	bucket     string
	object     string
	generation int64
	time       time.Time
	data       []byte
}

// ingestionID names the object version the way every log line of the project
// does.
func (e *event) ingestionID() string {
	return fmt.Sprintf("gs://%s/%s#%d", e.bucket, e.object, e.generation)
}

// header sets the CloudEvents attributes of e as binary content mode headers,
// with the names and values Eventarc uses for Cloud Storage.
func (e *event) header(h http.Header) {
	h.Set("Content-Type", "application/json")
	h.Set("Ce-Specversion", "1.0")
	h.Set("Ce-Id", e.id)
	h.Set("Ce-Source", "//storage.googleapis.com/projects/_/buckets/"+e.bucket)
	h.Set("Ce-Type", finalizedType)
	h.Set("Ce-Subject", "objects/"+e.object)
	h.Set("Ce-Time", e.time.UTC().Format(time.RFC3339Nano))
	h.Set("Ce-Bucket", e.bucket)
}

// newEvent turns a finalize notification into the event Eventarc would send.
// baseURL is the emulator's, for the object's links; idSpace makes the event
// id from the message id.
func newEvent(msg *pubsub.Message, baseURL string, idSpace uuid.UUID) (*event, error) {
	var n notification
	if err := json.Unmarshal(msg.Data, &n); err != nil {
		return nil, fmt.Errorf("decode notification %s: %w", msg.ID, err)
	}
	if n.Bucket == "" || n.Name == "" || n.Generation <= 0 {
		return nil, fmt.Errorf("notification %s: %w", msg.ID, errIncomplete)
	}
	gen := strconv.FormatInt(n.Generation, 10)
	bucket, object := url.PathEscape(n.Bucket), url.PathEscape(n.Name)
	data, err := json.Marshal(objectData{
		Kind:            "storage#object",
		ID:              n.Bucket + "/" + n.Name + "/" + gen,
		SelfLink:        baseURL + "/storage/v1/b/" + bucket + "/o/" + object,
		Name:            n.Name,
		Bucket:          n.Bucket,
		Generation:      n.Generation,
		Metageneration:  1, // every new generation starts at metageneration 1
		ContentType:     n.ContentType,
		ContentEncoding: n.ContentEncoding,
		TimeCreated:     n.TimeCreated,
		Updated:         n.Updated,
		StorageClass:    n.StorageClass,
		Size:            n.Size,
		MD5Hash:         n.MD5Hash,
		MediaLink:       baseURL + "/download/storage/v1/b/" + bucket + "/o/" + object + "?generation=" + gen + "&alt=media",
		CRC32C:          n.CRC32C,
		Etag:            n.MD5Hash, // fake-gcs-server's etag of an object is its MD5 hash
		Metadata:        n.Metadata,
	})
	if err != nil {
		return nil, fmt.Errorf("encode object %s/%s: %w", n.Bucket, n.Name, err)
	}
	return &event{
		id:         uuid.NewSHA1(idSpace, []byte(msg.ID)).String(),
		bucket:     n.Bucket,
		object:     n.Name,
		generation: n.Generation,
		time:       eventTime(n.Updated, msg),
		data:       data,
	}, nil
}

// errIncomplete reports a notification without bucket, name or generation.
var errIncomplete = errors.New("no bucket, object name or generation")

// eventTime is when the object was finalized: its update time, else the
// notification's event time, else when the notification was published.
func eventTime(updated string, msg *pubsub.Message) time.Time {
	for _, s := range []string{updated, msg.Attributes["eventTime"]} {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t
		}
	}
	return msg.PublishTime
}
