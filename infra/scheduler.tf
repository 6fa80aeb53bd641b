# Cloud Scheduler calls backup-tables and the metrics refresh with OIDC
# tokens of their own service accounts, which the functions know as admins.

locals {
  schedules = {
    "backup-tables" = {
      schedule = var.backup_schedule
      path     = "/"
      body     = "{}"
      deadline = "1800s"
    }
    "metrics" = {
      schedule = var.metrics_refresh_schedule
      path     = "/refresh"
      body     = "{}"
      deadline = "600s"
    }
  }
}

resource "google_service_account" "scheduler" {
  for_each = local.schedules

  account_id   = "${var.name_prefix}-sched-${each.key == "backup-tables" ? "backup" : each.key}"
  display_name = "hiring-pipeline scheduler for ${each.key}"
  description  = "Calls ${each.key} on its schedule."

  depends_on = [google_project_service.api]
}

resource "google_cloud_scheduler_job" "job" {
  for_each = local.schedules

  name             = "${var.name_prefix}-${each.key}"
  description      = "Calls ${each.key}${each.value.path} on schedule."
  region           = var.region
  schedule         = each.value.schedule
  time_zone        = var.time_zone
  attempt_deadline = each.value.deadline

  retry_config {
    retry_count          = 3
    min_backoff_duration = "60s"
    max_backoff_duration = "600s"
  }

  http_target {
    http_method = "POST"
    uri         = "${google_cloudfunctions2_function.fn[each.key].url}${each.value.path == "/" ? "" : each.value.path}"
    headers     = { "Content-Type" = "application/json" }
    body        = base64encode(each.value.body)

    oidc_token {
      service_account_email = google_service_account.scheduler[each.key].email
      audience              = google_cloudfunctions2_function.fn[each.key].url
    }
  }

  depends_on = [google_project_service.api, google_cloud_run_service_iam_member.invoker]
}
