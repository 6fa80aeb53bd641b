package bigquery

import (
	"database/sql"
	"net/http"
	"strconv"

	bq "google.golang.org/api/bigquery/v2"
)

// insertDataset is datasets.insert.
func (s *Server) insertDataset(r *http.Request) (any, error) {
	project := r.PathValue("projectId")
	if err := checkProject(project); err != nil {
		return nil, err
	}
	var ds bq.Dataset
	if _, err := decodeBody(r, &ds); err != nil {
		return nil, err
	}
	if ds.DatasetReference == nil || ds.DatasetReference.DatasetId == "" {
		return nil, errInvalid("Required parameter is missing: datasetReference.datasetId")
	}
	ref := ds.DatasetReference
	if ref.ProjectId == "" {
		ref.ProjectId = project
	}
	if ref.ProjectId != project {
		return nil, errInvalid("The project %s in the dataset reference does not match the project %s of the request", ref.ProjectId, project)
	}
	if !datasetIDPattern.MatchString(ref.DatasetId) {
		return nil, errInvalid("Invalid dataset ID \"%s\". Dataset IDs must be alphanumeric (plus underscores) and must be at most 1024 characters long.", ref.DatasetId)
	}
	s.cat.mu.Lock()
	defer s.cat.mu.Unlock()
	if _, ok := s.cat.datasets[datasetKey{project, ref.DatasetId}]; ok {
		return nil, errDuplicate("Dataset %s:%s", project, ref.DatasetId)
	}
	now := nowMillis()
	ds.Kind = "bigquery#dataset"
	ds.Id = project + ":" + ref.DatasetId
	ds.SelfLink = "/bigquery/v2/projects/" + project + "/datasets/" + ref.DatasetId
	ds.Etag = newETag()
	ds.CreationTime = now
	ds.LastModifiedTime = now
	if ds.Location == "" {
		ds.Location = s.location
	}
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(r.Context(), "CREATE SCHEMA "+duckSchema(project, ref.DatasetId)); err != nil {
			return err
		}
		return putDataset(r.Context(), tx, &ds)
	})
	if err != nil {
		return nil, duckError(err)
	}
	s.cat.datasets[datasetKey{project, ref.DatasetId}] = clone(&ds)
	return &ds, nil
}

// getDataset is datasets.get.
func (s *Server) getDataset(r *http.Request) (any, error) {
	project, dataset := r.PathValue("projectId"), r.PathValue("datasetId")
	ds, ok := s.cat.dataset(project, dataset)
	if !ok {
		return nil, errNotFound("Dataset %s:%s", project, dataset)
	}
	return ds, nil
}

// listDatasets is datasets.list.
func (s *Server) listDatasets(r *http.Request) (any, error) {
	project := r.PathValue("projectId")
	all := s.cat.datasetsOf(project)
	start, end, next, err := pageBounds(r, len(all), 50)
	if err != nil {
		return nil, err
	}
	list := &bq.DatasetList{Kind: "bigquery#datasetList", NextPageToken: next}
	for _, ds := range all[start:end] {
		list.Datasets = append(list.Datasets, &bq.DatasetListDatasets{
			Kind:             "bigquery#dataset",
			Id:               ds.Id,
			DatasetReference: ds.DatasetReference,
			Labels:           ds.Labels,
			Location:         ds.Location,
			FriendlyName:     ds.FriendlyName,
		})
	}
	return list, nil
}

// patchDataset is datasets.patch: description, friendly name, labels and the
// default table expiration can change.
func (s *Server) patchDataset(r *http.Request) (any, error) {
	project, dataset := r.PathValue("projectId"), r.PathValue("datasetId")
	var patch bq.Dataset
	if _, err := decodeBody(r, &patch); err != nil {
		return nil, err
	}
	s.cat.mu.Lock()
	defer s.cat.mu.Unlock()
	cur, ok := s.cat.datasets[datasetKey{project, dataset}]
	if !ok {
		return nil, errNotFound("Dataset %s:%s", project, dataset)
	}
	if m := r.Header.Get("If-Match"); m != "" && m != cur.Etag {
		return nil, newError(http.StatusPreconditionFailed, "conditionNotMet", "Precondition check failed.")
	}
	ds := clone(cur)
	if patch.Description != "" {
		ds.Description = patch.Description
	}
	if patch.FriendlyName != "" {
		ds.FriendlyName = patch.FriendlyName
	}
	if patch.Labels != nil {
		ds.Labels = patch.Labels
	}
	if patch.DefaultTableExpirationMs != 0 {
		ds.DefaultTableExpirationMs = patch.DefaultTableExpirationMs
	}
	ds.Etag = newETag()
	ds.LastModifiedTime = nowMillis()
	if err := s.inTx(r.Context(), func(tx *sql.Tx) error { return putDataset(r.Context(), tx, ds) }); err != nil {
		return nil, duckError(err)
	}
	s.cat.datasets[datasetKey{project, dataset}] = clone(ds)
	return ds, nil
}

// deleteDataset is datasets.delete; a dataset with tables needs
// deleteContents=true.
func (s *Server) deleteDataset(r *http.Request) (any, error) {
	project, dataset := r.PathValue("projectId"), r.PathValue("datasetId")
	deleteContents, _ := strconv.ParseBool(r.URL.Query().Get("deleteContents"))
	if _, ok := s.cat.dataset(project, dataset); !ok {
		return nil, errNotFound("Dataset %s:%s", project, dataset)
	}
	if len(s.cat.tablesOf(project, dataset)) > 0 && !deleteContents {
		return nil, newError(http.StatusBadRequest, "resourceInUse", "Dataset %s:%s is still in use", project, dataset)
	}
	err := s.inTx(r.Context(), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(r.Context(), "DROP SCHEMA "+duckSchema(project, dataset)+" CASCADE"); err != nil {
			return err
		}
		for _, meta := range []string{"_emulator.tables", "_emulator.history"} {
			if _, err := tx.ExecContext(r.Context(), "DELETE FROM "+meta+" WHERE project = ? AND dataset = ?", project, dataset); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(r.Context(), `DELETE FROM _emulator.datasets WHERE project = ? AND dataset = ?`, project, dataset)
		return err
	})
	if err != nil {
		return nil, duckError(err)
	}
	s.cat.removeDataset(project, dataset)
	return nil, nil
}
