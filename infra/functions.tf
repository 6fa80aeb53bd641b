# The five functions, one per Definition registered in ../functions.go:
# entry points are the names registered there, and each function runs as
# its own service account with the environment its Go Config reads.

locals {
  # The runtime matching the go directive of ../go.mod.
  go_runtime = "go126"

  # Per function: its entry point, the bucket whose finalized objects
  # trigger it (event functions only), and its defaults, which
  # var.functions overrides field by field.
  function_defaults = {
    "load-csv" = {
      entry_point     = "LoadCSV"
      trigger_bucket  = "landing"
      description     = "Validates a CSV file dropped in the landing bucket and loads its valid rows into BigQuery."
      memory          = "1Gi"
      cpu             = "1"
      timeout_seconds = 540
      max_instances   = 10
      concurrency     = 1
      # Only its Eventarc trigger calls it. Cloud Run counts Eventarc and
      # Pub/Sub deliveries from the same project as internal traffic
      # ("Restrict network ingress for Cloud Run",
      # https://cloud.google.com/run/docs/securing/ingress), so they still
      # arrive; a request from the internet does not.
      ingress = "ALLOW_INTERNAL_ONLY"
    }
    "insert-rows" = {
      entry_point     = "InsertRows"
      trigger_bucket  = ""
      description     = "Inserts batches of 1 to 1000 validated rows through the BigQuery Storage Write API."
      memory          = "512Mi"
      cpu             = "1"
      timeout_seconds = 60
      max_instances   = 20
      concurrency     = 40
      # Called by people, upstream systems and Cloud Scheduler, with ID
      # tokens: reachable from the internet, IAM and the token decide.
      ingress = "ALLOW_ALL"
    }
    "backup-tables" = {
      entry_point     = "BackupTables"
      trigger_bucket  = ""
      description     = "Backs every table up to Avro in the backup bucket, as of one point in time."
      memory          = "512Mi"
      cpu             = "1"
      timeout_seconds = 1800
      max_instances   = 1
      concurrency     = 1
      # Called by people, upstream systems and Cloud Scheduler, with ID
      # tokens: reachable from the internet, IAM and the token decide.
      ingress = "ALLOW_ALL"
    }
    "restore-table" = {
      entry_point     = "RestoreTable"
      trigger_bucket  = ""
      description     = "Verifies a backup and atomically replaces a table's rows with it."
      memory          = "512Mi"
      cpu             = "1"
      timeout_seconds = 1800
      max_instances   = 1
      concurrency     = 1
      # Called by people, upstream systems and Cloud Scheduler, with ID
      # tokens: reachable from the internet, IAM and the token decide.
      ingress = "ALLOW_ALL"
    }
    "metrics" = {
      entry_point     = "Metrics"
      trigger_bucket  = ""
      description     = "Serves the two hiring metrics and the report, and refreshes the metric tables."
      memory          = "512Mi"
      cpu             = "1"
      timeout_seconds = 300
      max_instances   = 5
      concurrency     = 20
      # Called by people, upstream systems and Cloud Scheduler, with ID
      # tokens: reachable from the internet, IAM and the token decide.
      ingress = "ALLOW_ALL"
    }
  }

  functions = {
    for name, d in local.function_defaults : name => merge(d, {
      for field, value in try(var.functions[name], {}) : field => value if value != null
    })
  }
  http_functions = toset([for name, f in local.functions : name if f.trigger_bucket == ""])

  # A function answers on its cloudfunctions.net URL and on the
  # deterministic run.app URL of its Cloud Run service; ID tokens may name
  # either as audience.
  function_urls = {
    for name in keys(local.function_defaults) : name => "https://${var.region}-${var.project_id}.cloudfunctions.net/${var.name_prefix}-${name}"
  }
  audiences = {
    for name in keys(local.function_defaults) : name => join(",", [
      local.function_urls[name],
      "https://${var.name_prefix}-${name}-${data.google_project.this.number}.${var.region}.run.app",
    ])
  }

  emails = {
    readers = [for m in var.readers : split(":", m)[1]]
    writers = [for m in var.writers : split(":", m)[1]]
    admins  = [for m in var.admins : split(":", m)[1]]
  }

  # The environment of each function: every variable its Go Config reads,
  # except the local stack's (HIRING_BIGQUERY_ENDPOINT,
  # HIRING_BIGQUERY_STORAGE_ENDPOINT, HIRING_AUTH_TOKENS).
  env_google = {
    HIRING_PROJECT           = var.project_id
    HIRING_DATASET           = google_bigquery_dataset.hiring.dataset_id
    HIRING_BIGQUERY_LOCATION = var.bigquery_location
  }
  env_buckets = {
    HIRING_LANDING_BUCKET = google_storage_bucket.landing.name
    HIRING_STAGING_BUCKET = google_storage_bucket.staging.name
    HIRING_BACKUP_BUCKET  = google_storage_bucket.backups.name
  }
  env_auth = {
    HIRING_AUTH_MODE = "google"
    HIRING_READERS   = join(",", local.emails.readers)
    HIRING_WRITERS   = join(",", local.emails.writers)
  }
  env = {
    "load-csv" = merge(local.env_google, local.env_buckets, {
      HIRING_REJECT_LOG_LIMIT = tostring(var.reject_log_limit)
      HIRING_STAGING_CODEC    = var.staging_codec
      HIRING_MAX_RECORD_BYTES = tostring(var.max_record_bytes)
      HIRING_MAX_FIELDS       = tostring(var.max_fields)
      HIRING_MAX_GZIP_BYTES   = tostring(var.max_gzip_bytes)
      HIRING_MAX_GZIP_RATIO   = tostring(var.max_gzip_ratio)
    })
    # The claims' bucket is the staging bucket; the retention is the
    # lifecycle rule's, in hours; a claim in progress longer than the
    # function's own timeout is abandoned, so the timeout comes from
    # local.functions (with var.functions' override), never a copy.
    "insert-rows" = merge(local.env_google, local.env_auth, {
      HIRING_AUTH_AUDIENCE         = local.audiences["insert-rows"]
      HIRING_ADMINS                = join(",", local.emails.admins)
      HIRING_MAX_BODY_BYTES        = tostring(var.max_body_bytes)
      HIRING_STAGING_BUCKET        = google_storage_bucket.staging.name
      HIRING_IDEMPOTENCY_RETENTION = "${var.idempotency_retention_days * 24}h"
      HIRING_REQUEST_TIMEOUT       = "${local.functions["insert-rows"].timeout_seconds}s"
    })
    "backup-tables" = merge(local.env_google, local.env_buckets, local.env_auth, {
      HIRING_AUTH_AUDIENCE = local.audiences["backup-tables"]
      HIRING_ADMINS        = join(",", concat(local.emails.admins, [google_service_account.scheduler["backup-tables"].email]))
      HIRING_BACKUP_CODEC  = var.backup_codec
    })
    "restore-table" = merge(local.env_google, local.env_buckets, local.env_auth, {
      HIRING_AUTH_AUDIENCE = local.audiences["restore-table"]
      HIRING_ADMINS        = join(",", local.emails.admins)
      HIRING_BACKUP_CODEC  = var.backup_codec
    })
    "metrics" = merge(local.env_google, local.env_auth, {
      HIRING_AUTH_AUDIENCE = local.audiences["metrics"]
      HIRING_ADMINS        = join(",", concat(local.emails.admins, [google_service_account.scheduler["metrics"].email]))
      HIRING_METRICS_YEARS = join(",", [for y in var.metrics_years : tostring(y)])
    })
  }
}

resource "google_cloudfunctions2_function" "fn" {
  for_each = local.functions

  name        = "${var.name_prefix}-${each.key}"
  location    = var.region
  description = each.value.description
  labels      = local.labels

  build_config {
    runtime         = local.go_runtime
    entry_point     = each.value.entry_point
    service_account = google_service_account.build.id
    # The project's own repository, whose cleanup policy keeps it small,
    # instead of the shared gcf-artifacts one.
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = google_storage_bucket.source.name
        object = google_storage_bucket_object.source.name
      }
    }
  }

  service_config {
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout_seconds
    min_instance_count               = 0
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = each.value.concurrency
    service_account_email            = google_service_account.fn[each.key].email
    environment_variables            = local.env[each.key]
    ingress_settings                 = each.value.ingress
    all_traffic_on_latest_revision   = true
  }

  dynamic "event_trigger" {
    for_each = each.value.trigger_bucket == "" ? [] : [each.value.trigger_bucket]
    content {
      trigger_region        = var.region
      event_type            = "google.cloud.storage.object.v1.finalized"
      retry_policy          = "RETRY_POLICY_RETRY"
      service_account_email = google_service_account.trigger.email

      event_filters {
        attribute = "bucket"
        value = {
          landing = google_storage_bucket.landing.name
          staging = google_storage_bucket.staging.name
          backups = google_storage_bucket.backups.name
        }[event_trigger.value]
      }
    }
  }

  # The grants that Eventarc and Cloud Build check, propagated (iam.tf).
  depends_on = [google_project_service.api, time_sleep.iam_propagation]
}

# The functions' images. Every deploy pushes a new one; the cleanup policy
# keeps the newest image_versions_kept versions of each and deletes older
# ones past a week.
resource "google_artifact_registry_repository" "functions" {
  repository_id = "${var.name_prefix}-functions"
  location      = var.region
  format        = "DOCKER"
  description   = "hiring-pipeline function images, built by Cloud Build."
  labels        = local.labels

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.image_versions_kept
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "604800s"
    }
  }

  depends_on = [google_project_service.api]
}
