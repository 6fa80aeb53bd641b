package httpapi

import (
	"net/http"
	"strconv"
)

// Object is a JSON object of an OpenAPI document.
type Object = map[string]any

// OpenAPI returns an OpenAPI 3 document with the parts every function
// shares: the Problem schema, the bearer security scheme required by
// default, and a public GET /openapi.json. paths and schemas are the
// function's own; role names the role its endpoints require.
func OpenAPI(title, description, role string, paths, schemas Object) Object {
	all := Object{
		"Problem": Object{
			"type":        "object",
			"description": "An RFC 9457 problem detail.",
			"required":    []string{"type", "title", "status", "code"},
			"properties": Object{
				"type":   Object{"type": "string", "description": "A URI naming the kind of problem."},
				"title":  Object{"type": "string"},
				"status": Object{"type": "integer"},
				"detail": Object{"type": "string", "description": "What went wrong with this request."},
				"code":   Object{"type": "string", "description": "Machine-readable code of the problem; the README lists them."},
				"error_id": Object{"type": "string", "description": "On a 5xx answer: the id of the ERROR log line that has the error. " +
					"A 5xx answer carries no other detail of the failure."},
				"errors": Object{"description": "Details, for the codes that have them."},
			},
		},
	}
	for k, v := range schemas {
		all[k] = v
	}
	p := Object{
		"/openapi.json": Object{"get": Object{
			"summary":     "This document.",
			"operationId": "openapi",
			"security":    []any{},
			"responses":   Object{"200": Object{"description": "The OpenAPI document.", "content": Object{"application/json": Object{"schema": Object{"type": "object"}}}}},
		}},
	}
	for k, v := range paths {
		p[k] = v
	}
	return Object{
		"openapi":  "3.0.3",
		"info":     Object{"title": title, "version": "1", "description": description},
		"security": []any{Object{"bearer": []any{}}},
		"paths":    p,
		"components": Object{
			"schemas": all,
			"securitySchemes": Object{"bearer": Object{
				"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "A Google-signed ID token whose audience is the function's URL, for a caller with the " + role +
					" role. Locally with `hiring dev --auth`, the " + role + " token it prints.",
			}},
		},
	}
}

// Ref refers to a schema of the document's components.
func Ref(name string) Object { return Object{"$ref": "#/components/schemas/" + name} }

// Problems documents problem answers for statuses.
func Problems(statuses ...int) Object {
	out := Object{}
	for _, s := range statuses {
		out[strconv.Itoa(s)] = Object{
			"description": http.StatusText(s),
			"content":     Object{"application/problem+json": Object{"schema": Ref("Problem")}},
		}
	}
	return out
}

// JSONResponse documents a JSON answer of a schema.
func JSONResponse(description string, schema Object) Object {
	return Object{"description": description, "content": Object{"application/json": Object{"schema": schema}}}
}
