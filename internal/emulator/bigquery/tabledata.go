package bigquery

import (
	"net/http"
	"strings"

	bq "google.golang.org/api/bigquery/v2"
)

// listTableData is tabledata.list.
func (s *Server) listTableData(r *http.Request) (any, error) {
	k := tableKeyOf(r)
	t, ok := s.cat.table(k)
	if !ok {
		return nil, errNotFound("Table %s", k)
	}
	if t.Type != "TABLE" {
		return nil, errInvalid("Cannot list a table of type %s.", t.Type)
	}
	p, err := parsePageRequest(r)
	if err != nil {
		return nil, err
	}
	fields := t.Schema.Fields
	if sel := r.URL.Query().Get("selectedFields"); sel != "" {
		fields = nil
		for _, name := range strings.Split(sel, ",") {
			f := fieldNamed(t.Schema, strings.TrimSpace(name))
			if f == nil {
				return nil, errInvalid("Field %s in selectedFields does not exist in table %s", name, k)
			}
			fields = append(fields, f)
		}
	}
	pg, err := s.readPage(r.Context(), duckTable(k), namesOf(&bq.TableSchema{Fields: fields}), fields, p, int64Timestamps(r))
	if err != nil {
		return nil, err
	}
	return &bq.TableDataList{
		Kind:            "bigquery#tableDataList",
		Etag:            t.Etag,
		TotalRows:       pg.Total,
		PageToken:       pg.Next,
		Rows:            pg.Rows,
		ForceSendFields: []string{"TotalRows"},
	}, nil
}

func fieldNamed(s *bq.TableSchema, name string) *bq.TableFieldSchema {
	for _, f := range s.Fields {
		if strings.EqualFold(f.Name, name) {
			return f
		}
	}
	return nil
}

// int64Timestamps reports whether the caller asked for TIMESTAMP values as
// int64 microseconds.
func int64Timestamps(r *http.Request) bool {
	return r.URL.Query().Get("formatOptions.useInt64Timestamp") == "true"
}
