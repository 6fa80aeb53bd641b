# The dataset, per dictionary table (schemas/*.json) an append-only raw
# table and its reader view, the system tables and the metric tables. The
# local stack creates the same from the same files (internal/warehouse).

resource "google_bigquery_dataset" "hiring" {
  dataset_id                 = var.dataset_id
  location                   = var.bigquery_location
  description                = "hiring-pipeline: departments, jobs and hired employees"
  delete_contents_on_destroy = false
  labels                     = local.labels
  # backup-tables copies each raw table as of one point in time
  # (<table>@<ms>), which time travel must still reach; the check below
  # compares it with the backup schedule.
  max_time_travel_hours = tostring(var.max_time_travel_hours)

  depends_on = [google_project_service.api]
}

resource "google_bigquery_table" "raw" {
  for_each = local.dictionary

  dataset_id          = google_bigquery_dataset.hiring.dataset_id
  table_id            = "${each.key}_raw"
  description         = "Append-only rows of ${each.key}; read the view ${each.key}."
  schema              = jsonencode(concat(each.value, local.ingestion_columns))
  deletion_protection = var.deletion_protection
  labels              = local.labels

  dynamic "time_partitioning" {
    for_each = try([local.table_layout["${each.key}_raw"].timePartitioning], [])
    content {
      type  = time_partitioning.value.type
      field = time_partitioning.value.field
    }
  }

  clustering = try(local.table_layout["${each.key}_raw"].clustering.fields, null)
}

# What readers query: the latest ingested row per key.
resource "google_bigquery_table" "view" {
  for_each = local.dictionary

  dataset_id          = google_bigquery_dataset.hiring.dataset_id
  table_id            = each.key
  description         = "The latest ingested row per ${each.value[0].name} of ${each.key}_raw."
  deletion_protection = false
  labels              = local.labels

  view {
    query = templatefile("${local.repository}/schemas/system/reader_view.sql", {
      dataset   = google_bigquery_dataset.hiring.dataset_id
      raw_table = google_bigquery_table.raw[each.key].table_id
      columns   = join(", ", [for c in each.value : c.name])
      key       = each.value[0].name
    })
    use_legacy_sql = false
  }
}

# ingest_log is queried by ingestion_id (ingest.Loader.recorded) and merged
# into on it (Loader.record) for every file, and read by time: partitioned
# by day of started_at, clustered by ingestion_id and table_name. The local
# stack's layout (schemas/system/table_layout.json) does not partition it.
locals {
  system_layout = merge(local.table_layout, {
    ingest_log = {
      timePartitioning = { type = "DAY", field = "started_at" }
      clustering       = { fields = ["ingestion_id", "table_name"] }
    }
  })
}

resource "google_bigquery_table" "system" {
  for_each = local.system_tables

  dataset_id          = google_bigquery_dataset.hiring.dataset_id
  table_id            = each.key
  schema              = file("${local.repository}/schemas/system/${each.key}.json")
  deletion_protection = var.deletion_protection
  labels              = local.labels

  dynamic "time_partitioning" {
    for_each = try([local.system_layout[each.key].timePartitioning], [])
    content {
      type  = time_partitioning.value.type
      field = time_partitioning.value.field
      # rejected_rows keeps raw rows, personal data, for
      # var.rejected_rows_retention_days; the layout's expirationMs is the
      # local tables' default of 90 days.
      expiration_ms = each.key == "rejected_rows" ? var.rejected_rows_retention_days * 86400000 : try(tonumber(time_partitioning.value.expirationMs), null)
    }
  }

  clustering = try(local.system_layout[each.key].clustering.fields, null)
}

# Written by the metrics function's scheduled refresh, for BI tools.
resource "google_bigquery_table" "metric" {
  for_each = local.metric_tables

  dataset_id          = google_bigquery_dataset.hiring.dataset_id
  table_id            = each.key
  description         = "Refreshed by the metrics function on ${var.metrics_refresh_schedule} (${var.time_zone}), one row set per year of HIRING_METRICS_YEARS."
  schema              = file("${local.repository}/schemas/system/${each.key}.json")
  deletion_protection = false
  labels              = local.labels

  lifecycle {
    # Each refresh replaces the rows and the schema with a copy job.
    ignore_changes = [schema]
  }
}

check "time_travel_covers_the_backups" {
  assert {
    condition     = var.max_time_travel_hours >= 168 || (length(split(" ", var.backup_schedule)) == 5 && join(" ", slice(split(" ", var.backup_schedule), 2, 5)) == "* * *")
    error_message = "backup_schedule does not run every day: with max_time_travel_hours = ${var.max_time_travel_hours}, a backup that fails may not be retried from the same point in time before time travel ends. Run it daily or keep 168 hours."
  }
}
