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

# Backups: Avro files that BigQuery extract jobs write, and manifests.
# backup-tables can create and read objects here, never delete them. Soft
# delete keeps a deleted or replaced object restorable for
# backups_soft_delete_days, whoever deleted it; it blocks neither the
# extract jobs, which create new objects, nor the lifecycle rules, whose
# deletions it keeps restorable for as long. Versioning keeps an
# overwritten or deleted manifest recoverable for a week. An optional
# retention policy forbids deleting or replacing an object younger than
# backups_retention_policy_days, even for an administrator; locking it is
# left to you (gcloud storage buckets update --lock-retention-period),
# since a locked policy cannot be shortened or removed.
resource "google_storage_bucket" "backups" {
  project                     = var.backups_project_id != "" ? var.backups_project_id : var.project_id
  name                        = local.buckets.backups
  location                    = var.backups_location != "" ? upper(var.backups_location) : upper(var.region)
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
    retention_duration_seconds = var.backups_soft_delete_days * 86400
  }

  dynamic "retention_policy" {
    for_each = var.backups_retention_policy_days > 0 ? [var.backups_retention_policy_days] : []
    content {
      retention_period = retention_policy.value * 86400
    }
  }

  depends_on = [google_project_service.api]
}

check "backup_retention_policy_fits" {
  assert {
    condition     = var.backups_retention_policy_days <= var.backup_retention_days
    error_message = "backups_retention_policy_days (${var.backups_retention_policy_days}) exceeds backup_retention_days (${var.backup_retention_days}): the lifecycle rule could not delete a backup until the retention policy lets it."
  }
}
