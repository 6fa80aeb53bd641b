package insert

import (
	"fmt"
	"net/http"

	"github.com/hiring-pipeline/hiring-pipeline/internal/dictionary"
	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

type obj = httpapi.Object

// OpenAPI returns the OpenAPI 3 document of insert-rows, derived from the
// data dictionary: one path per table, with its row schema.
func OpenAPI(dict *dictionary.Dictionary) map[string]any {
	schemas := obj{
		"FieldError": obj{
			"type":     "object",
			"required": []string{"rule", "message"},
			"properties": obj{
				"field":   obj{"type": "string", "description": "The column; absent when the rule concerns the whole row."},
				"rule":    obj{"type": "string", "enum": dictionary.Rules},
				"message": obj{"type": "string"},
			},
		},
		"Refusal": obj{
			"type":     "object",
			"required": []string{"index", "errors"},
			"properties": obj{
				"index":  obj{"type": "integer", "description": "Index of the row in the batch, from 0."},
				"line":   obj{"type": "integer", "description": "Line of the record in a CSV body."},
				"id":     obj{"description": "The row's key, when it is valid."},
				"errors": obj{"type": "array", "minItems": 1, "items": ref("FieldError")},
			},
		},
		"InsertResult": obj{
			"type":     "object",
			"required": []string{"table", "ingestion_id", "received", "inserted", "refused"},
			"properties": obj{
				"table":        obj{"type": "string"},
				"ingestion_id": obj{"type": "string", "description": "api:<table>:<Idempotency-Key>, or api:<table>:request-<uuid> for a request without a key; every inserted and refused row carries it."},
				"received":     obj{"type": "integer"},
				"inserted":     obj{"type": "integer"},
				"refused":      obj{"type": "array", "items": ref("Refusal")},
			},
		},
	}
	paths := obj{}
	for _, t := range dict.Tables() {
		schemas[t.Name+"_row"] = rowSchema(t)
		paths["/tables/"+t.Name+"/rows"] = tablePath(t)
	}
	paths["/tables/{table}/rows"] = obj{
		"parameters": []any{obj{"name": "table", "in": "path", "required": true, "schema": obj{"type": "string"}}},
		"post": obj{
			"summary":     "A table that the dictionary does not have.",
			"operationId": "insertUnknown",
			"responses":   problems(http.StatusNotFound, http.StatusUnauthorized, http.StatusForbidden),
		},
	}
	return httpapi.OpenAPI("hiring-pipeline insert-rows",
		"Inserts batches of 1 to 1000 rows into a table of the hiring data dictionary. Valid rows are inserted, "+
			"invalid ones refused with every rule they broke and recorded in rejected_rows. A request with an "+
			"Idempotency-Key takes effect once: repeated with the same body, it is answered with the first answer, byte for byte, "+
			"and the header Idempotent-Replayed: true, whichever instance receives it; with another body it is refused "+
			"(422 idempotency_key_reused); while the first is in progress it is answered 409 request_in_progress with Retry-After. "+
			"A request without a key is a new batch every time. "+
			"A JSON body is read strictly: a member twice or unknown in the envelope, data after it, or nesting deeper than "+
			"64 levels answers 400 malformed_body; inside a row, a member twice or unknown refuses that row (duplicate_field, unknown_field). "+
			"Problem codes: malformed_body, batch_size, invalid_parameter, invalid_idempotency_key, unauthenticated, forbidden, "+
			"unknown_table, not_found, method_not_allowed, request_in_progress, body_too_large, unsupported_media_type, invalid_rows, "+
			"no_valid_rows, idempotency_key_reused, unavailable, internal.",
		"writer", paths, schemas)
}

func ref(name string) obj { return httpapi.Ref(name) }

// rowSchema is the JSON Schema of a valid row of t.
func rowSchema(t *dictionary.Table) obj {
	props := obj{}
	var required []string
	for _, f := range t.Fields {
		var p obj
		switch f.Type {
		case dictionary.Integer:
			p = obj{"type": "integer", "format": "int64", "minimum": 1}
		case dictionary.Timestamp:
			p = obj{"type": "string", "format": "date-time"}
		default:
			p = obj{"type": "string", "minLength": 1}
			if f.MaxLength > 0 {
				p["maxLength"] = f.MaxLength
			}
		}
		p["description"] = f.Description
		if f.Required {
			required = append(required, f.Name)
		} else {
			p["nullable"] = true
		}
		props[f.Name] = p
	}
	return obj{"type": "object", "additionalProperties": false, "required": required, "properties": props,
		"description": fmt.Sprintf("A valid row of %s.", t.Name)}
}

func tablePath(t *dictionary.Table) obj {
	responses := problems(http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusConflict,
		http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity,
		http.StatusServiceUnavailable, http.StatusInternalServerError)
	responses["200"] = obj{"description": "The valid rows were inserted; the others are listed in refused.",
		"headers": obj{ReplayedHeader: replayedHeader},
		"content": obj{"application/json": obj{"schema": ref("InsertResult")}}}
	responses["409"] = withHeaders(responses["409"], "request_in_progress: a request with this Idempotency-Key is being processed.",
		obj{"Retry-After": retryAfter})
	responses["422"] = withHeaders(responses["422"], "invalid_rows or no_valid_rows (nothing was inserted), or "+
		"idempotency_key_reused: the key was used for a request with another body, media type or atomic.",
		obj{ReplayedHeader: replayedHeader})
	responses["503"] = withHeaders(responses["503"], "unavailable: BigQuery or Cloud Storage did not answer; retry with the same Idempotency-Key.",
		obj{"Retry-After": retryAfter})
	notAllowed := obj{"summary": "Not allowed: use POST.", "responses": problems(http.StatusMethodNotAllowed)}
	op := func(method string) obj {
		o := obj{}
		for k, v := range notAllowed {
			o[k] = v
		}
		o["operationId"] = method + "_" + t.Name
		return o
	}
	return obj{
		"post": obj{
			"summary":     fmt.Sprintf("Insert 1 to %d rows into %s.", MaxRows, t.Name),
			"operationId": "insert_" + t.Name,
			"parameters": []any{
				obj{"name": "atomic", "in": "query", "schema": obj{"type": "boolean", "default": false},
					"description": "true: any invalid row refuses the whole batch (422)."},
				obj{"name": "Idempotency-Key", "in": "header", "schema": obj{"type": "string", "minLength": 1, "maxLength": 255},
					"description": "Names the batch, for this table and caller, for HIRING_IDEMPOTENCY_RETENTION (24 hours by default): " +
						"a repeated request with the same key and body is answered with the first answer and writes nothing. " +
						"Without a key, every request is a new batch."},
			},
			"requestBody": obj{
				"required": true,
				"content": obj{
					"application/json": obj{"schema": obj{
						"type": "object", "required": []string{"rows"}, "additionalProperties": false,
						"properties": obj{"rows": obj{"type": "array", "minItems": 1, "maxItems": MaxRows,
							"items": obj{"type": "object", "description": "A row; valid ones match #/components/schemas/" + t.Name + "_row, others are refused one by one."}}},
					}},
					"text/csv": obj{"schema": obj{"type": "string",
						"description": "Records as in the CSV files, columns in schema order, no header (a header naming the columns is skipped)."}},
				},
			},
			"responses": responses,
		},
		"get":    op("get"),
		"put":    op("put"),
		"patch":  op("patch"),
		"delete": op("delete"),
	}
}

// replayedHeader marks a replayed answer.
var replayedHeader = obj{"description": "true when this is the stored answer of an earlier request with the same Idempotency-Key.",
	"schema": obj{"type": "string", "enum": []string{"true"}}}

// retryAfter says when to retry.
var retryAfter = obj{"description": "Seconds to wait before retrying with the same Idempotency-Key.", "required": true,
	"schema": obj{"type": "integer", "minimum": 1}}

// withHeaders gives a documented response a description and headers.
func withHeaders(response any, description string, headers obj) obj {
	r := obj{}
	for k, v := range response.(obj) {
		r[k] = v
	}
	r["description"] = description
	r["headers"] = headers
	return r
}

// problems documents problem answers for statuses.
func problems(statuses ...int) obj { return httpapi.Problems(statuses...) }
