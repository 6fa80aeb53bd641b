package metrics

import (
	"net/http"

	"github.com/hiring-pipeline/hiring-pipeline/internal/httpapi"
)

type obj = httpapi.Object

// meanDefinition states the mean of the second metric, for the API document
// and the README.
const meanDefinition = "The mean is the year's hires of the departments in the departments table divided by their number: " +
	"a department without hires counts as 0. A department is listed when its hires exceed the mean (strictly)."

// OpenAPI returns the OpenAPI 3 document of the metrics function.
func OpenAPI() map[string]any {
	yearParam := obj{"name": "year", "in": "query", "schema": obj{"type": "integer", "minimum": MinYear, "maximum": MaxYear, "default": DefaultYear},
		"description": "The year of the hires (UTC)."}
	formatParam := obj{"name": "format", "in": "query", "schema": obj{"type": "string", "enum": []string{"json", "csv"}},
		"description": "csv gives CSV with a header row; so does Accept: text/csv. JSON otherwise. " +
			"In CSV, a cell that begins with =, +, -, @, a tab or a carriage return gets a leading ' so that no spreadsheet " +
			"runs it as a formula (OWASP CSV injection); JSON carries the values unchanged."}
	csvContent := obj{"schema": obj{"type": "string"}}
	get := func(id, summary, schema string) obj {
		responses := httpapi.Problems(http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusInternalServerError, http.StatusServiceUnavailable)
		responses["200"] = obj{"description": summary, "content": obj{
			"application/json": obj{"schema": httpapi.Ref(schema)},
			"text/csv":         csvContent,
		}}
		return obj{
			"get":  obj{"summary": summary, "operationId": id, "parameters": []any{yearParam, formatParam}, "responses": responses},
			"post": obj{"summary": "Not allowed: use GET.", "operationId": id + "Post", "responses": httpapi.Problems(http.StatusMethodNotAllowed)},
		}
	}
	reportResponses := httpapi.Problems(http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusInternalServerError, http.StatusServiceUnavailable)
	reportResponses["200"] = obj{"description": "One self-contained HTML page: charts (inline SVG), a searchable, sortable table, a year selector.",
		"content": obj{"text/html": obj{"schema": obj{"type": "string"}}}}
	refreshResponses := httpapi.Problems(http.StatusUnauthorized, http.StatusForbidden, http.StatusInternalServerError, http.StatusServiceUnavailable)
	refreshResponses["200"] = httpapi.JSONResponse("The metric tables were replaced.", httpapi.Ref("RefreshResult"))
	paths := obj{
		"/hires-by-quarter": get("hiresByQuarter",
			"Hires of the year per department and job, by quarter of the UTC hire time: one row per (department, job) with a hire, "+
				"ordered by department then job in code point order. A hire counts when its department and its job are in their tables.", "HiresByQuarter"),
		"/departments-above-mean": get("departmentsAboveMean",
			"Departments whose hires in the year exceed the mean, most hires first, then by department. "+meanDefinition, "DepartmentsAboveMean"),
		"/report": obj{
			"get":  obj{"summary": "The visual report of the year.", "operationId": "report", "parameters": []any{yearParam}, "responses": reportResponses},
			"post": obj{"summary": "Not allowed: use GET.", "operationId": "reportPost", "responses": httpapi.Problems(http.StatusMethodNotAllowed)},
		},
		"/refresh": obj{
			"post": obj{"summary": "Write both metrics for the configured years (HIRING_METRICS_YEARS) to " + HiresByQuarterTable + " and " +
				DepartmentsAboveMeanTable + ", for BI tools. Called by Cloud Scheduler; needs the admin role.", "operationId": "refresh", "responses": refreshResponses},
			"get": obj{"summary": "Not allowed: use POST.", "operationId": "refreshGet", "responses": httpapi.Problems(http.StatusMethodNotAllowed)},
		},
	}
	schemas := obj{
		"HiresByQuarter": obj{
			"type": "object", "required": []string{"year", "rows"},
			"properties": obj{
				"year": obj{"type": "integer"},
				"rows": obj{"type": "array", "items": obj{
					"type": "object", "required": []string{"department", "job", "Q1", "Q2", "Q3", "Q4"},
					"properties": obj{
						"department": obj{"type": "string"}, "job": obj{"type": "string"},
						"Q1": obj{"type": "integer"}, "Q2": obj{"type": "integer"}, "Q3": obj{"type": "integer"}, "Q4": obj{"type": "integer"},
					},
				}},
			},
		},
		"DepartmentsAboveMean": obj{
			"type": "object", "required": []string{"year", "mean", "departments", "hires", "rows"},
			"properties": obj{
				"year":        obj{"type": "integer"},
				"mean":        obj{"type": "number", "description": meanDefinition},
				"departments": obj{"type": "integer", "description": "Departments in the departments table."},
				"hires":       obj{"type": "integer", "description": "Hires of the year over all departments."},
				"rows": obj{"type": "array", "items": obj{
					"type": "object", "required": []string{"id", "department", "hired"},
					"properties": obj{"id": obj{"type": "integer"}, "department": obj{"type": "string"}, "hired": obj{"type": "integer"}},
				}},
			},
		},
		"RefreshResult": obj{
			"type": "object", "required": []string{"years", "tables", "ms"},
			"properties": obj{
				"years":  obj{"type": "array", "items": obj{"type": "integer"}},
				"tables": obj{"type": "object", "additionalProperties": obj{"type": "integer"}, "description": "Rows written per table."},
				"ms":     obj{"type": "integer"},
			},
		},
	}
	return httpapi.OpenAPI("hiring-pipeline metrics",
		"The two hiring metrics as JSON or CSV, a visual report, and the scheduled refresh of the metric tables. "+
			"Problem codes: invalid_year, invalid_format, unauthenticated, forbidden, method_not_allowed, not_found, unavailable.",
		"reader", paths, schemas)
}
