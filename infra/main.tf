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

  # Every API the plan touches: cloudresourcemanager for data.google_project
  # and the project IAM members, monitoring for the alert policies. The
  # Service Usage API, which enables the others, is on in every new project.
  apis = toset([
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "cloudscheduler.googleapis.com",
    "eventarc.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
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
  depends_on = [google_project_service.api]
}

# The service agents that the Eventarc trigger relies on, created before
# anything grants them a role, rather than on first use: the Storage agent
# publishes the landing bucket's events, the Pub/Sub agent mints the
# trigger account's tokens, the Eventarc agent manages the trigger's
# subscription. Without them, the first create of load-csv commonly fails
# with "Permission denied while using the Eventarc Service Agent".
resource "google_project_service_identity" "agent" {
  provider = google-beta
  for_each = toset(["eventarc.googleapis.com", "pubsub.googleapis.com", "storage.googleapis.com"])

  project = var.project_id
  service = each.value

  depends_on = [google_project_service.api]
}

# The Cloud Storage service agent's email: the service identity API does
# not return one for every service, this data source does.
data "google_storage_project_service_account" "gcs" {
  project    = var.project_id
  depends_on = [google_project_service_identity.agent]
}

check "bigquery_location_holds_the_buckets" {
  assert {
    condition     = upper(var.bigquery_location) == "US" || (upper(var.bigquery_location) == "EU" && startswith(var.region, "europe-")) || lower(var.bigquery_location) == var.region
    error_message = "bigquery_location should be US, EU with a European region, or the region itself (${var.region}): load and extract jobs need the buckets within the dataset's location."
  }
}
