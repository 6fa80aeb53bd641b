# Buckets whose objects matter: the files to load and the backups. All
# buckets have uniform access and public access prevention enforced.

# The files to load. Versioning keeps an overwritten or deleted file for
# landing_noncurrent_days: the files are the history being migrated.
resource "google_storage_bucket" "landing" {
  name                        = local.buckets.landing
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = var.landing_noncurrent_days
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.api]
}

# Backups: BigQuery extract jobs write here, so no retention policy, bucket
# lock or object hold (they would make the exports and the expiry fail) and
# no soft delete; versioning keeps an overwritten or deleted manifest
# recoverable for a week.
resource "google_storage_bucket" "backups" {
  name                        = local.buckets.backups
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = local.labels

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age        = var.backup_retention_days
      with_state = "LIVE"
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  soft_delete_policy {
    retention_duration_seconds = 0
  }

  depends_on = [google_project_service.api]
}
