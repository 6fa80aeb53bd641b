# Service accounts and the roles each needs, no more: BigQuery roles on the
# dataset, Storage roles on single buckets, and bigquery.jobUser on the
# project for the functions that run jobs. Nothing is public.

locals {
  # What each function's service account may do.
  function_access = {
    "load-csv" = {
      runs_jobs = true
      buckets   = { landing = "roles/storage.objectViewer", staging = "roles/storage.objectAdmin" }
    }
    "insert-rows" = {
      runs_jobs = false
      # Its only Storage grant, on the claims of the staging bucket, needs
      # an IAM condition: google_storage_bucket_iam_member.insert_rows_claims.
      buckets = {}
    }
    "backup-tables" = {
      runs_jobs = true
      buckets   = { backups = "roles/storage.objectAdmin" }
    }
    "restore-table" = {
      runs_jobs = true
      buckets   = { backups = "roles/storage.objectViewer" }
    }
    "metrics" = {
      runs_jobs = true
      buckets   = {}
    }
  }

  bucket_grants = merge([
    for name, a in local.function_access : {
      for bucket, role in a.buckets : "${name}/${bucket}" => { function = name, bucket = bucket, role = role }
    }
  ]...)

  # Who may invoke each function (Cloud Run's roles/run.invoker): the roles
  # of README.md, the scheduler's accounts and the Eventarc trigger's. Keys
  # are known before apply: a principal, or the name of an account created
  # here.
  admins = { for m in var.admins : m => m }
  invokers = {
    "load-csv"      = { trigger = "serviceAccount:${google_service_account.trigger.email}" }
    "insert-rows"   = merge({ for m in var.writers : m => m }, local.admins)
    "backup-tables" = merge(local.admins, { scheduler = "serviceAccount:${google_service_account.scheduler["backup-tables"].email}" })
    "restore-table" = local.admins
    "metrics"       = merge({ for m in var.readers : m => m }, local.admins, { scheduler = "serviceAccount:${google_service_account.scheduler["metrics"].email}" })
  }
  invoker_grants = merge([
    for name, members in local.invokers : { for key, m in members : "${name}/${key}" => { function = name, member = m } }
  ]...)
}

resource "google_service_account" "fn" {
  for_each = local.function_defaults

  account_id   = "${var.name_prefix}-${each.key}"
  display_name = "hiring-pipeline ${each.key} function"
  description  = "Runs the ${each.key} function."
}

resource "google_bigquery_dataset_iam_member" "fn" {
  for_each = local.function_defaults

  dataset_id = google_bigquery_dataset.hiring.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.fn[each.key].email}"
}

resource "google_project_iam_member" "job_user" {
  for_each = toset([for name, a in local.function_access : name if a.runs_jobs])

  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = "serviceAccount:${google_service_account.fn[each.key].email}"
}

resource "google_storage_bucket_iam_member" "fn" {
  for_each = local.bucket_grants

  bucket = {
    landing = google_storage_bucket.landing.name
    staging = google_storage_bucket.staging.name
    backups = google_storage_bucket.backups.name
  }[each.value.bucket]
  role   = each.value.role
  member = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}

# insert-rows keeps one idempotency claim per Idempotency-Key in the staging
# bucket (insert.Config.ClaimsBucket, names under insert.ClaimsPrefix;
# internal/idempotency): it creates a claim and its answer with
# ifGenerationMatch=0, reads them, and overwrites a claim with a generation
# precondition on a takeover, which needs storage.objects.delete as well as
# create. roles/storage.objectUser has
# those (and no IAM permissions); the condition keeps them to the claims,
# so insert-rows can neither read nor delete load-csv's staged files. The
# role's storage.objects.list is checked on the bucket, not on an object,
# so the condition leaves insert-rows unable to list: it never does.
# Conditions on a bucket need uniform bucket-level access, which it has.
resource "google_storage_bucket_iam_member" "insert_rows_claims" {
  bucket = google_storage_bucket.staging.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.fn["insert-rows"].email}"

  condition {
    title       = "idempotency claims only"
    description = "insert-rows' idempotency claims: objects under ${local.claims_prefix} of the staging bucket."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.staging.name}/objects/${local.claims_prefix}\")"
  }
}

resource "google_cloud_run_service_iam_member" "invoker" {
  for_each = local.invoker_grants

  project  = var.project_id
  location = var.region
  service  = google_cloudfunctions2_function.fn[each.value.function].name
  role     = "roles/run.invoker"
  member   = each.value.member
}

# Cloud Build builds the functions as this account instead of a default one.
resource "google_service_account" "build" {
  account_id   = "${var.name_prefix}-build"
  display_name = "hiring-pipeline function builds"
  description  = "Builds the functions' container images with Cloud Build."
}

resource "google_project_iam_member" "build" {
  project = var.project_id
  role    = "roles/cloudbuild.builds.builder"
  member  = "serviceAccount:${google_service_account.build.email}"
}

# Eventarc: the Storage service agent publishes the bucket's events, the
# trigger's account receives them and invokes load-csv, and the Pub/Sub
# service agent mints the trigger account's tokens.
resource "google_service_account" "trigger" {
  account_id   = "${var.name_prefix}-trigger"
  display_name = "hiring-pipeline landing bucket trigger"
  description  = "Delivers the landing bucket's finalized objects to load-csv."
}

resource "google_project_iam_member" "gcs_publishes_events" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_project_iam_member" "trigger_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

resource "google_service_account_iam_member" "pubsub_mints_trigger_tokens" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  depends_on = [google_project_service.api]
}
