output "function_urls" {
  description = "URL of each HTTP function (load-csv has one too, but only its Eventarc trigger may call it)."
  value       = { for name, f in google_cloudfunctions2_function.fn : name => f.url }
}

output "report_url" {
  description = "The visual report of 2021; it needs a reader's ID token (see README.md)."
  value       = "${google_cloudfunctions2_function.fn["metrics"].url}/report?year=2021"
}

output "buckets" {
  description = "Bucket names: drop CSV files in landing; backups hold the Avro backups."
  value = {
    landing = google_storage_bucket.landing.name
    staging = google_storage_bucket.staging.name
    backups = google_storage_bucket.backups.name
    source  = google_storage_bucket.source.name
  }
}

output "dataset" {
  description = "The BigQuery dataset, as project.dataset."
  value       = "${var.project_id}.${google_bigquery_dataset.hiring.dataset_id}"
}

output "service_accounts" {
  description = "The service account of each function, of the trigger, of the builds and of each scheduler job."
  value = merge(
    { for name, sa in google_service_account.fn : name => sa.email },
    { trigger = google_service_account.trigger.email, build = google_service_account.build.email },
    { for name, sa in google_service_account.scheduler : "scheduler-${name}" => sa.email },
  )
}
