# Service accounts and the roles each needs, no more, each grant beside the
# code that needs it: BigQuery roles on single tables, a conditional role on
# the dataset limited to the scratch tables a function creates and drops,
# Storage roles on single buckets, and bigquery.jobUser on the project for
# the functions that run jobs. No function account holds a write role on
# the whole dataset or the project. Nothing is public.
#
# Ordering: every account depends on the APIs (google_project_service.api),
# every grant on an account, a table, a bucket or a service agent that
# does, and the functions wait for time_sleep.iam_propagation after the
# grants that Eventarc and Cloud Build check on their first use.

locals {
  # Tables by key, for the grants: "raw:<table>" and "view:<table>" per
  # dictionary table, then the system and metric tables by name.
  raw_tables  = [for t in keys(local.dictionary) : "raw:${t}"]
  view_tables = [for t in keys(local.dictionary) : "view:${t}"]

  # What each function's service account may do:
  #   table_editor  roles/bigquery.dataEditor on these tables only
  #   table_viewer  roles/bigquery.dataViewer on these tables only
  #   scratch       name prefixes of the tables it creates, fills and drops
  #                 in the dataset: roles/bigquery.dataEditor on the
  #                 dataset with an IAM condition on those names
  #   runs_jobs     roles/bigquery.jobUser on the project
  #   buckets       Storage roles on single buckets
  function_access = {
    "load-csv" = {
      # ingest.Loader.loadJob (internal/ingest/bigquery.go) appends the
      # valid rows to the raw table and the rejects to rejected_rows with
      # load jobs (CreateNever); Loader.record merges the outcome into
      # ingest_log and Loader.recorded reads it back.
      table_editor = concat(local.raw_tables, ["rejected_rows", "ingest_log"])
      table_viewer = []
      scratch      = []
      runs_jobs    = true
      buckets = {
        # ingest.Stager reads the dropped file (stage.go, NewReader).
        landing = ["roles/storage.objectViewer"]
        # ingest.Stager writes the staged Avro files, only if absent
        # (DoesNotExist), and the load jobs read them; the lifecycle rule,
        # not load-csv, deletes them.
        staging = ["roles/storage.objectCreator", "roles/storage.objectViewer"]
      }
    }
    "insert-rows" = {
      # insert.Service writes the rows to the raw table and the refused
      # rows to rejected_rows through the Storage Write API (internal/bqwrite),
      # which needs bigquery.tables.updateData on each and runs no job. Its
      # idempotency claims need the conditional Storage grant
      # google_storage_bucket_iam_member.insert_rows_claims below.
      table_editor = concat(local.raw_tables, ["rejected_rows"])
      table_viewer = []
      scratch      = []
      runs_jobs    = false
      buckets      = {}
    }
    "backup-tables" = {
      # backup.Backuper.table (internal/backup/backup.go) copies the raw
      # table as of the backup's time into _backup_<id>_<table>, extracts
      # that copy to Avro and drops it.
      table_editor = []
      table_viewer = local.raw_tables
      scratch      = ["_backup_"]
      runs_jobs    = true
      buckets = {
        # The extract jobs create the Avro files, Backuper.writeManifest
        # creates the manifest only if absent, Backuper.files lists and
        # reads them back. No delete: a backup, once written, can only be
        # removed by the lifecycle rule or an administrator.
        backups = ["roles/storage.objectCreator", "roles/storage.objectViewer"]
      }
    }
    "restore-table" = {
      # backup.Restorer (internal/backup/restore.go) loads a backup into
      # _restore_staging_<key>, then copies it over the raw table
      # (WRITE_TRUNCATE) or into a new restore_<name> table, and drops the
      # staging table.
      table_editor = local.raw_tables
      table_viewer = []
      scratch      = ["_restore_staging_", "restore_"]
      runs_jobs    = true
      buckets = {
        # Restorer reads the manifest and the files, and checks their
        # generations (Attrs).
        backups = ["roles/storage.objectViewer"]
      }
    }
    "metrics" = {
      # metrics.Service queries the reader views, which read the raw
      # tables; refreshMetric (internal/metrics/metrics.go) fills
      # <metric table>_refresh_<run>, copies it onto the metric table
      # (WRITE_TRUNCATE) and drops it.
      table_editor = tolist(local.metric_tables)
      table_viewer = concat(local.raw_tables, local.view_tables)
      scratch      = [for t in local.metric_tables : "${t}_refresh_"]
      runs_jobs    = true
      buckets      = {}
    }
  }

  table_grants = merge(flatten([
    for name, a in local.function_access : [
      { for t in a.table_editor : "${name}/${t}/editor" => { function = name, table = t, role = "roles/bigquery.dataEditor" } },
      { for t in a.table_viewer : "${name}/${t}/viewer" => { function = name, table = t, role = "roles/bigquery.dataViewer" } },
    ]
  ])...)

  bucket_grants = merge(flatten([
    for name, a in local.function_access : [
      for bucket, roles in a.buckets : { for role in roles : "${name}/${bucket}/${role}" => { function = name, bucket = bucket, role = role } }
    ]
  ])...)

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

  depends_on = [google_project_service.api]
}

resource "google_bigquery_table_iam_member" "fn" {
  for_each = local.table_grants

  dataset_id = google_bigquery_dataset.hiring.dataset_id
  table_id = {
    for key, t in merge(
      { for name, t in google_bigquery_table.raw : "raw:${name}" => t.table_id },
      { for name, t in google_bigquery_table.view : "view:${name}" => t.table_id },
      { for name, t in google_bigquery_table.system : name => t.table_id },
      { for name, t in google_bigquery_table.metric : name => t.table_id },
    ) : key => t
  }[each.value.table]
  role   = each.value.role
  member = "serviceAccount:${google_service_account.fn[each.value.function].email}"
}

# The scratch tables of local.function_access: a table that does not exist
# yet can only be granted through its dataset, so the role is on the
# dataset with an IAM condition on the table names.
resource "google_bigquery_dataset_iam_member" "scratch" {
  for_each = { for name, a in local.function_access : name => a.scratch if length(a.scratch) > 0 }

  dataset_id = google_bigquery_dataset.hiring.dataset_id
  role       = "roles/bigquery.dataEditor"
  member     = "serviceAccount:${google_service_account.fn[each.key].email}"

  condition {
    title       = "${each.key} scratch tables"
    description = "Only the tables ${each.key} creates and drops: ${join(", ", [for p in each.value : "${p}*"])}."
    expression  = join(" || ", [for p in each.value : "resource.name.startsWith(\"projects/${var.project_id}/datasets/${google_bigquery_dataset.hiring.dataset_id}/tables/${p}\")"])
  }
}

# Load, copy, extract and query jobs are created in the project; the data
# they touch is granted above.
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

# Cloud Build builds the functions as this account instead of a default
# one, with only what a build of this source does: write its logs, read
# the source archive, push the image to the project's own repository.
resource "google_service_account" "build" {
  account_id   = "${var.name_prefix}-build"
  display_name = "hiring-pipeline function builds"
  description  = "Builds the functions' container images with Cloud Build."

  depends_on = [google_project_service.api]
}

resource "google_project_iam_member" "build_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.build.email}"
}

resource "google_storage_bucket_iam_member" "build_reads_source" {
  bucket = google_storage_bucket.source.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}

resource "google_artifact_registry_repository_iam_member" "build_pushes_images" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

# Eventarc: the Storage service agent publishes the bucket's events, the
# Eventarc service agent manages the trigger, the trigger's account
# receives the events and invokes load-csv, and the Pub/Sub service agent
# mints the trigger account's tokens.
resource "google_service_account" "trigger" {
  account_id   = "${var.name_prefix}-trigger"
  display_name = "hiring-pipeline landing bucket trigger"
  description  = "Delivers the landing bucket's finalized objects to load-csv."

  depends_on = [google_project_service.api]
}

resource "google_project_iam_member" "gcs_publishes_events" {
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_project_iam_member" "eventarc_agent" {
  project = var.project_id
  role    = "roles/eventarc.serviceAgent"
  member  = google_project_service_identity.agent["eventarc.googleapis.com"].member
}

resource "google_project_iam_member" "trigger_receives_events" {
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.trigger.email}"
}

resource "google_service_account_iam_member" "pubsub_mints_trigger_tokens" {
  service_account_id = google_service_account.trigger.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = google_project_service_identity.agent["pubsub.googleapis.com"].member
}

# IAM is eventually consistent: a grant takes effect within about a
# minute, sometimes several. Eventarc checks its agents' and the trigger's
# roles when load-csv's trigger is created, and Cloud Build the build
# account's when the first build starts, so the functions wait this long
# after those grants. Later applies skip the wait unless a grant changes.
resource "time_sleep" "iam_propagation" {
  create_duration = var.iam_propagation_wait

  triggers = {
    grants = join(",", [
      google_project_iam_member.gcs_publishes_events.id,
      google_project_iam_member.eventarc_agent.id,
      google_project_iam_member.trigger_receives_events.id,
      google_service_account_iam_member.pubsub_mints_trigger_tokens.id,
      google_project_iam_member.build_logs.id,
      google_storage_bucket_iam_member.build_reads_source.id,
      google_artifact_registry_repository_iam_member.build_pushes_images.id,
    ])
  }
}
