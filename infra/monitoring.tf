# The failure path: log-based metrics that count load-csv's failures and the
# HTTP functions' 5xx answers, and, when notification_channels names at
# least one channel, an alert policy on each. See "Failure path" in
# README.md for what happens to a file that keeps failing.

locals {
  # A 2nd gen function runs as the Cloud Run service of the same name.
  load_csv_service = "${var.name_prefix}-load-csv"
  http_services    = [for name in sort(tolist(local.http_functions)) : "${var.name_prefix}-${name}"]

  # load-csv logs every processed file with an "outcome" field
  # (ingest.Loader.finish in internal/ingest/loader.go): FAILED when the
  # file could not be read or loaded, which ingest_log records too. An
  # invocation that fails before that (a transient error, a timeout, a
  # crash) answers Eventarc with a 5xx, which Cloud Run's request log
  # records; Eventarc then retries it.
  log_filters = {
    load_csv_failures = join(" AND ", [
      "resource.type=\"cloud_run_revision\"",
      "resource.labels.service_name=\"${local.load_csv_service}\"",
      "(jsonPayload.outcome=\"FAILED\" OR httpRequest.status>=500)",
    ])
    http_5xx = join(" AND ", [
      "resource.type=\"cloud_run_revision\"",
      "resource.labels.service_name=(${join(" OR ", [for s in local.http_services : "\"${s}\""])})",
      "httpRequest.status>=500",
    ])
  }

  alerts = {
    load_csv_failures = {
      display_name = "hiring-pipeline: load-csv failures"
      description  = "load-csv recorded a file FAILED in ingest_log, or an invocation failed and Eventarc will retry it. Find the file with: SELECT * FROM ${var.dataset_id}.ingest_log WHERE outcome = 'FAILED' ORDER BY started_at DESC; and the function's logs in Cloud Logging (resource.labels.service_name=\"${local.load_csv_service}\", severity>=ERROR)."
    }
    http_5xx = {
      display_name = "hiring-pipeline: 5xx answers"
      description  = "An HTTP function (${join(", ", local.http_services)}) answered 5xx. Its log line \"request failed\" carries the error_id the caller got."
    }
  }
}

resource "google_logging_metric" "failures" {
  for_each = local.log_filters

  name        = "${var.name_prefix}/${each.key}"
  description = local.alerts[each.key].description
  filter      = each.value

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [google_project_service.api]
}

resource "google_monitoring_alert_policy" "failures" {
  for_each = length(var.notification_channels) > 0 ? local.log_filters : {}

  display_name          = local.alerts[each.key].display_name
  combiner              = "OR"
  notification_channels = var.notification_channels
  severity              = "ERROR"
  user_labels           = local.labels

  conditions {
    display_name = "${local.alerts[each.key].display_name}: at least one in 5 minutes"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"logging.googleapis.com/user/${google_logging_metric.failures[each.key].name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    content   = local.alerts[each.key].description
    mime_type = "text/markdown"
  }

  depends_on = [google_project_service.api]
}
