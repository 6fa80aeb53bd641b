# The dataset, per dictionary table (schemas/*.json) an append-only raw
# table and its reader view, the system tables and the metric tables. The
# local stack creates the same from the same files (internal/warehouse).

resource "google_bigquery_dataset" "hiring" {
  dataset_id                 = var.dataset_id
  location                   = var.bigquery_location
  description                = "hiring-pipeline: departments, jobs and hired employees"
  delete_contents_on_destroy = false
  labels                     = local.labels

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

resource "google_bigquery_table" "system" {
  for_each = local.system_tables

  dataset_id          = google_bigquery_dataset.hiring.dataset_id
  table_id            = each.key
  schema              = file("${local.repository}/schemas/system/${each.key}.json")
  deletion_protection = var.deletion_protection
  labels              = local.labels

  dynamic "time_partitioning" {
    for_each = try([local.table_layout[each.key].timePartitioning], [])
    content {
      type  = time_partitioning.value.type
      field = time_partitioning.value.field
      # rejected_rows keeps raw rows, personal data, for
      # var.rejected_rows_retention_days; the layout's expirationMs is the
      # local tables' default of 90 days.
      expiration_ms = each.key == "rejected_rows" ? var.rejected_rows_retention_days * 86400000 : try(tonumber(time_partitioning.value.expirationMs), null)
    }
  }

  clustering = try(local.table_layout[each.key].clustering.fields, null)
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
