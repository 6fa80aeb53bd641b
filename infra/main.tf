# hiring-pipeline on Google Cloud: buckets, the BigQuery dataset, five
# Cloud Run functions (2nd gen Cloud Functions), the Eventarc trigger, the
# scheduler jobs and one service account per component. See README.md.

locals {
  repository = "${path.module}/.."

  # The data dictionary, one schema per table, and the pipeline's own
  # tables: the very files the Go code embeds.
  dictionary        = { for f in fileset("${local.repository}/schemas", "*.json") : trimsuffix(f, ".json") => jsondecode(file("${local.repository}/schemas/${f}")) }
  ingestion_columns = jsondecode(file("${local.repository}/schemas/system/ingestion_columns.json"))
  table_layout      = jsondecode(file("${local.repository}/schemas/system/table_layout.json"))
  system_tables     = toset(["rejected_rows", "ingest_log"])
  metric_tables     = toset(["metrics_hires_by_quarter", "metrics_departments_above_mean"])

  buckets = {
    landing = "${var.project_id}-${var.name_prefix}-landing"
    staging = "${var.project_id}-${var.name_prefix}-staging"
    backups = "${var.project_id}-${var.name_prefix}-backups"
    source  = "${var.project_id}-${var.name_prefix}-source"
  }

  # What the staging bucket holds, by object name prefix: load-csv's staged
  # Avro files of the valid rows and of the rejects (stagingName in
  # internal/ingest/object.go), and insert-rows' idempotency claims
  # (insert.ClaimsPrefix in internal/insert/claims_prefix.go, which the
  # cross-check compares with claims_prefix). Each has its own lifecycle
  # rule, and insert-rows may touch the claims only.
  staged_prefixes = ["valid/", "rejects/"]
  claims_prefix   = "idempotency/"

  labels = merge(var.labels, { app = "hiring-pipeline" })

  apis = toset([
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "storage.googleapis.com",
  ])
}

resource "google_project_service" "api" {
  for_each = local.apis

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

data "google_project" "this" {
  project_id = var.project_id
}

# The Cloud Storage service agent publishes the landing bucket's events.
data "google_storage_project_service_account" "gcs" {
  project    = var.project_id
  depends_on = [google_project_service.api]
}

check "bigquery_location_holds_the_buckets" {
  assert {
    condition     = upper(var.bigquery_location) == "US" || (upper(var.bigquery_location) == "EU" && startswith(var.region, "europe-")) || lower(var.bigquery_location) == var.region
    error_message = "bigquery_location should be US, EU with a European region, or the region itself (${var.region}): load and extract jobs need the buckets within the dataset's location."
  }
}
