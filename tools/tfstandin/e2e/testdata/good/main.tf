terraform {
  required_version = ">= 1.10"
  required_providers {
    google  = { source = "hashicorp/google", version = "~> 6.0" }
    archive = { source = "hashicorp/archive", version = "~> 2.7" }
    # Spelled out with the other registry's host name: the mirror serves both.
    random = { source = "registry.terraform.io/hashicorp/random", version = "~> 3.7" }
  }
}

variable "project_id" { type = string }
variable "region" {
  type    = string
  default = "europe-west1"
}

provider "google" {
  project = var.project_id
  region  = var.region
}

data "google_project" "this" {}
data "google_client_config" "current" {}
data "google_storage_project_service_account" "gcs" {}
data "google_bigquery_default_service_account" "bq" {}

resource "google_project_service" "apis" {
  for_each           = toset(["cloudfunctions.googleapis.com", "run.googleapis.com"])
  service            = each.value
  disable_on_destroy = false
}

resource "random_id" "suffix" {
  byte_length = 4
}

resource "google_storage_bucket" "raw" {
  name                        = "${var.project_id}-raw"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  versioning { enabled = true }
  lifecycle_rule {
    condition { age = 30 }
    action { type = "Delete" }
  }
}

resource "google_service_account" "fn" {
  account_id   = "ingest-fn"
  display_name = "ingest function"
}

resource "google_project_iam_member" "fn_bq" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.fn.email}"
}

resource "google_project_iam_member" "gcs_pubsub" {
  project = data.google_project.this.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_storage_bucket_iam_member" "fn_reads_raw" {
  bucket = google_storage_bucket.raw.name
  role   = "roles/storage.objectViewer"
  member = google_service_account.fn.member
}

resource "google_bigquery_dataset" "warehouse" {
  dataset_id = "warehouse"
  location   = "EU"
}

resource "google_bigquery_dataset_iam_member" "fn_edits" {
  dataset_id = google_bigquery_dataset.warehouse.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.fn.email}"
}

resource "google_bigquery_table" "events" {
  dataset_id          = google_bigquery_dataset.warehouse.dataset_id
  table_id            = "events"
  deletion_protection = false
  schema              = file("${path.module}/schemas/events.json")
  time_partitioning {
    type  = "DAY"
    field = "ingested_at"
  }
  clustering = ["id"]
}

data "archive_file" "src" {
  type        = "zip"
  source_dir  = "${path.module}/src"
  output_path = "${path.module}/build/src.zip"
}

resource "google_storage_bucket_object" "src" {
  name   = "src-${data.archive_file.src.output_md5}.zip"
  bucket = google_storage_bucket.raw.name
  source = data.archive_file.src.output_path
}

resource "google_cloudfunctions2_function" "ingest" {
  name     = "ingest"
  location = var.region
  build_config {
    runtime     = "go125"
    entry_point = "Ingest"
    source {
      storage_source {
        bucket = google_storage_bucket.raw.name
        object = google_storage_bucket_object.src.name
      }
    }
  }
  service_config {
    max_instance_count    = 3
    available_memory      = "256M"
    service_account_email = google_service_account.fn.email
    environment_variables = { DATASET = google_bigquery_dataset.warehouse.dataset_id }
  }
  event_trigger {
    trigger_region = var.region
    event_type     = "google.cloud.storage.object.v1.finalized"
    retry_policy   = "RETRY_POLICY_RETRY"
    event_filters {
      attribute = "bucket"
      value     = google_storage_bucket.raw.name
    }
  }
  depends_on = [google_project_service.apis]
}

resource "google_cloudfunctions2_function_iam_member" "invoker" {
  location       = google_cloudfunctions2_function.ingest.location
  cloud_function = google_cloudfunctions2_function.ingest.name
  role           = "roles/cloudfunctions.invoker"
  member         = "serviceAccount:${google_service_account.fn.email}"
}

resource "google_cloud_run_service_iam_member" "invoker" {
  location = google_cloudfunctions2_function.ingest.location
  service  = google_cloudfunctions2_function.ingest.name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.fn.email}"
}

resource "google_cloud_scheduler_job" "nightly" {
  name     = "nightly"
  region   = var.region
  schedule = "0 3 * * *"
  http_target {
    http_method = "POST"
    uri         = google_cloudfunctions2_function.ingest.service_config[0].uri
    oidc_token {
      service_account_email = google_service_account.fn.email
    }
  }
}

output "function_uri" {
  value = google_cloudfunctions2_function.ingest.url
}

output "staging_bucket" {
  value = "${var.project_id}-staging-${random_id.suffix.hex}"
}

output "bq_sa" {
  value = data.google_bigquery_default_service_account.bq.member
}
