variables {
  project_id = "demo-project"
}

run "plan" {
  command = plan

  assert {
    condition     = google_storage_bucket.raw.name == "demo-project-raw"
    error_message = "bucket name"
  }
  assert {
    condition     = google_bigquery_table.events.time_partitioning[0].type == "DAY"
    error_message = "partitioning"
  }
}
