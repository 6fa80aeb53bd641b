# tofu test / terraform test: plans the configuration with example values
# and checks what the plan would create.

variables {
  project_id = "hiring-test-project"
  region     = "us-central1"
  admins     = ["user:admin@example.com"]
  writers    = ["serviceAccount:writer@hiring-test-project.iam.gserviceaccount.com"]
  readers    = ["user:reader@example.com"]
}

run "plan" {
  command = plan

  assert {
    condition     = alltrue([for b in [google_storage_bucket.landing, google_storage_bucket.staging, google_storage_bucket.backups, google_storage_bucket.source] : b.uniform_bucket_level_access && b.public_access_prevention == "enforced"])
    error_message = "Every bucket must have uniform access and enforced public access prevention."
  }

  assert {
    condition     = google_storage_bucket.landing.versioning[0].enabled && google_storage_bucket.backups.versioning[0].enabled
    error_message = "The landing and backup buckets must keep versions."
  }

  assert {
    condition     = google_storage_bucket.backups.soft_delete_policy[0].retention_duration_seconds == 7 * 86400 && length(google_storage_bucket.backups.retention_policy) == 0
    error_message = "The backup bucket must have soft delete on, for 7 days by default, and no retention policy unless one is asked for."
  }

  assert {
    condition     = google_bigquery_dataset.hiring.max_time_travel_hours == "168"
    error_message = "The dataset must pin max_time_travel_hours, 168 by default."
  }

  assert {
    condition     = google_cloudfunctions2_function.fn["load-csv"].service_config[0].ingress_settings == "ALLOW_INTERNAL_ONLY"
    error_message = "load-csv, which only its Eventarc trigger calls, must take internal traffic only."
  }

  assert {
    condition     = length(google_monitoring_alert_policy.failures) == 0 && toset(keys(google_logging_metric.failures)) == toset(["load_csv_failures", "http_5xx"])
    error_message = "Without a notification channel, the log-based metrics are created and no alert policy."
  }

  assert {
    condition = (
      google_bigquery_table.system["ingest_log"].time_partitioning[0].field == "started_at" &&
      join(",", google_bigquery_table.system["ingest_log"].clustering) == "ingestion_id,table_name" &&
      google_bigquery_table.system["rejected_rows"].time_partitioning[0].expiration_ms == 90 * 86400000
    )
    error_message = "ingest_log must be partitioned by started_at and clustered by ingestion_id; rejected_rows' partitions must expire after rejected_rows_retention_days."
  }

  # Least privilege: no function account holds a write role on the whole
  # dataset or the project. Project-wide, functions get bigquery.jobUser
  # only; on the dataset, only roles limited by a condition to their
  # scratch tables; on the backups, backup-tables may create and read but
  # not delete.
  assert {
    condition     = alltrue([for m in google_project_iam_member.job_user : m.role == "roles/bigquery.jobUser"])
    error_message = "A function account may hold only roles/bigquery.jobUser on the project."
  }

  assert {
    condition     = alltrue([for m in google_bigquery_dataset_iam_member.scratch : length(m.condition) == 1 && strcontains(m.condition[0].expression, "resource.name.startsWith(\"projects/hiring-test-project/datasets/hiring/tables/")]) && !contains(keys(google_bigquery_dataset_iam_member.scratch), "load-csv") && !contains(keys(google_bigquery_dataset_iam_member.scratch), "insert-rows")
    error_message = "A function's role on the dataset must be limited by a condition to its own scratch tables."
  }

  assert {
    condition = (
      toset([for k, m in google_storage_bucket_iam_member.fn : m.role if startswith(k, "backup-tables/backups/")]) == toset(["roles/storage.objectCreator", "roles/storage.objectViewer"]) &&
      alltrue([for m in google_storage_bucket_iam_member.fn : !contains(["roles/storage.objectAdmin", "roles/storage.admin"], m.role)])
    )
    error_message = "backup-tables may create and read backups, never delete them; no function is a Storage admin."
  }

  assert {
    condition     = google_artifact_registry_repository.functions.format == "DOCKER" && google_artifact_registry_repository.functions.repository_id == "hiring-functions" && google_artifact_registry_repository.functions.cleanup_policy_dry_run == false
    error_message = "The functions' images must go to the project's own repository, whose cleanup policy is applied."
  }

  assert {
    condition     = one(google_storage_bucket.staging.lifecycle_rule[0].condition).age == 3 && one(google_storage_bucket.staging.lifecycle_rule[0].condition).matches_prefix == tolist(["valid/", "rejects/"])
    error_message = "Staged files, and only they, must expire after staging_retention_days."
  }

  assert {
    condition     = one(google_storage_bucket.staging.lifecycle_rule[1].condition).age == 1 && one(google_storage_bucket.staging.lifecycle_rule[1].condition).matches_prefix == tolist(["idempotency/"]) && one(google_storage_bucket.staging.lifecycle_rule[1].action).type == "Delete"
    error_message = "insert-rows' claims must expire after idempotency_retention_days."
  }

  assert {
    condition = (
      google_cloudfunctions2_function.fn["insert-rows"].service_config[0].environment_variables["HIRING_STAGING_BUCKET"] == "hiring-test-project-hiring-staging" &&
      google_cloudfunctions2_function.fn["insert-rows"].service_config[0].environment_variables["HIRING_IDEMPOTENCY_RETENTION"] == "24h" &&
      google_cloudfunctions2_function.fn["insert-rows"].service_config[0].environment_variables["HIRING_REQUEST_TIMEOUT"] == "60s"
    )
    error_message = "insert-rows must keep its claims in the staging bucket for idempotency_retention_days, with its own timeout."
  }

  assert {
    condition = (
      google_storage_bucket_iam_member.insert_rows_claims.bucket == "hiring-test-project-hiring-staging" &&
      google_storage_bucket_iam_member.insert_rows_claims.role == "roles/storage.objectUser" &&
      google_storage_bucket_iam_member.insert_rows_claims.condition[0].expression == "resource.name.startsWith(\"projects/_/buckets/hiring-test-project-hiring-staging/objects/idempotency/\")" &&
      length([for k in keys(google_storage_bucket_iam_member.fn) : k if startswith(k, "insert-rows/")]) == 0
    )
    error_message = "insert-rows may touch the objects under idempotency/ of the staging bucket only."
  }

  assert {
    condition     = length(google_cloudfunctions2_function.fn) == 5 && alltrue([for f in google_cloudfunctions2_function.fn : f.build_config[0].runtime == "go126"])
    error_message = "Five functions on the go126 runtime."
  }

  assert {
    condition     = google_cloudfunctions2_function.fn["load-csv"].event_trigger[0].retry_policy == "RETRY_POLICY_RETRY" && google_cloudfunctions2_function.fn["load-csv"].event_trigger[0].event_type == "google.cloud.storage.object.v1.finalized"
    error_message = "load-csv must be triggered by finalized objects, with retries."
  }

  assert {
    condition     = alltrue([for name in ["insert-rows", "backup-tables", "restore-table", "metrics"] : length(google_cloudfunctions2_function.fn[name].event_trigger) == 0])
    error_message = "Only load-csv has an event trigger."
  }

  assert {
    condition     = alltrue([for k in keys(google_cloud_run_service_iam_member.invoker) : !strcontains(k, "allUsers") && !strcontains(k, "allAuthenticatedUsers")])
    error_message = "No function may be public."
  }

  assert {
    condition     = google_cloud_run_service_iam_member.invoker["restore-table/user:admin@example.com"].role == "roles/run.invoker" && !contains(keys(google_cloud_run_service_iam_member.invoker), "restore-table/user:reader@example.com")
    error_message = "Only admins may invoke restore-table."
  }

  assert {
    condition     = google_bigquery_table.raw["hired_employees"].time_partitioning[0].field == "datetime" && join(",", google_bigquery_table.raw["hired_employees"].clustering) == "department_id,job_id"
    error_message = "hired_employees_raw must be partitioned by datetime and clustered by department_id, job_id."
  }

  assert {
    condition     = toset(keys(google_bigquery_table.view)) == toset(["departments", "jobs", "hired_employees"]) && strcontains(google_bigquery_table.view["jobs"].view[0].query, "FROM `hiring.jobs_raw`")
    error_message = "Every dictionary table must have a reader view over its raw table."
  }

  assert {
    condition     = alltrue([for j in google_cloud_scheduler_job.job : j.http_target[0].http_method == "POST" && length(j.http_target[0].oidc_token) == 1]) && google_cloud_scheduler_job.job["metrics"].schedule == "30 2 * * *"
    error_message = "The scheduler jobs must POST with OIDC tokens on their schedules."
  }
}

run "alerts_with_a_channel" {
  command = plan

  variables {
    notification_channels = ["projects/hiring-test-project/notificationChannels/123"]
  }

  assert {
    condition     = toset(keys(google_monitoring_alert_policy.failures)) == toset(["load_csv_failures", "http_5xx"]) && alltrue([for p in google_monitoring_alert_policy.failures : p.notification_channels == tolist(["projects/hiring-test-project/notificationChannels/123"])])
    error_message = "With a notification channel, an alert policy on each log-based metric must notify it."
  }
}

run "backups_settings" {
  command = plan

  variables {
    backups_soft_delete_days      = 30
    backups_retention_policy_days = 14
    backups_location              = "nam4"
  }

  assert {
    condition     = google_storage_bucket.backups.soft_delete_policy[0].retention_duration_seconds == 30 * 86400 && google_storage_bucket.backups.retention_policy[0].retention_period == 14 * 86400 && google_storage_bucket.backups.location == "NAM4"
    error_message = "The backup bucket must follow backups_soft_delete_days, backups_retention_policy_days and backups_location."
  }
}

run "refuses_soft_delete_under_a_week" {
  command = plan

  variables {
    backups_soft_delete_days = 3
  }

  expect_failures = [var.backups_soft_delete_days]
}

run "refuses_no_metrics_year" {
  command = plan

  variables {
    metrics_years = []
  }

  expect_failures = [var.metrics_years]
}

run "refuses_a_metrics_year_out_of_range" {
  command = plan

  variables {
    metrics_years = [2021, 10000]
  }

  expect_failures = [var.metrics_years]
}

run "refuses_time_travel_out_of_range" {
  command = plan

  variables {
    max_time_travel_hours = 24
  }

  expect_failures = [var.max_time_travel_hours]
}

run "short_time_travel_with_a_weekly_backup" {
  command = plan

  variables {
    max_time_travel_hours = 48
    backup_schedule       = "0 2 * * 0"
  }

  expect_failures = [check.time_travel_covers_the_backups]
}

run "retention_policy_longer_than_the_backups" {
  command = plan

  variables {
    backups_retention_policy_days = 60
  }

  expect_failures = [check.backup_retention_policy_fits]
}

run "claims_follow_the_settings" {
  command = plan

  variables {
    idempotency_retention_days = 7
    functions                  = { "insert-rows" = { timeout_seconds = 120 } }
  }

  assert {
    condition     = google_cloudfunctions2_function.fn["insert-rows"].service_config[0].environment_variables["HIRING_IDEMPOTENCY_RETENTION"] == "168h" && one(google_storage_bucket.staging.lifecycle_rule[1].condition).age == 7
    error_message = "The claims' retention and their lifecycle rule must follow idempotency_retention_days."
  }

  assert {
    condition     = google_cloudfunctions2_function.fn["insert-rows"].service_config[0].environment_variables["HIRING_REQUEST_TIMEOUT"] == "120s" && google_cloudfunctions2_function.fn["insert-rows"].service_config[0].timeout_seconds == 120
    error_message = "HIRING_REQUEST_TIMEOUT must follow insert-rows' timeout_seconds, overrides included."
  }
}

run "refuses_a_claims_retention_under_a_day" {
  command = plan

  variables {
    idempotency_retention_days = 0.5
  }

  expect_failures = [var.idempotency_retention_days]
}

run "refuses_a_group_as_admin" {
  command = plan

  variables {
    admins = ["group:admins@example.com"]
  }

  expect_failures = [var.admins]
}
