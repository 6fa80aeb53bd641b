# Buckets whose objects are transient or reproducible, so without
# versioning: the staged Avro files of loads in flight and insert-rows'
# idempotency claims, and the functions' source archives, which the
# repository rebuilds.

# Avro files of load jobs, needed only while their load job runs, and
# insert-rows' idempotency claims, needed for idempotency_retention_days.
# Uniform bucket-level access also lets insert-rows' grant carry an IAM
# condition (iam.tf).
resource "google_storage_bucket" "staging" {
  name                        = local.buckets.staging
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = local.labels

  # The staged files, after staging_retention_days. Only under their own
  # prefixes: without matches_prefix this rule would also delete the claims,
  # and with the default 3 days against a longer idempotency_retention_days
  # a retry would then be taken for a new batch. The price is that an
  # object under a prefix named nowhere here is never deleted: a new kind of
  # staged file needs its prefix added to local.staged_prefixes.
  lifecycle_rule {
    condition {
      age            = var.staging_retention_days
      matches_prefix = local.staged_prefixes
    }
    action {
      type = "Delete"
    }
  }

  # insert-rows' idempotency claims, once their key no longer answers:
  # age counts from the creation of the object's live version, which an
  # overwrite renews, so a claim is never deleted sooner than
  # idempotency_retention_days after it was first written (Cloud Storage
  # may apply the rule up to a day or so later).
  lifecycle_rule {
    condition {
      age            = var.idempotency_retention_days
      matches_prefix = [local.claims_prefix]
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

# The functions' source: the repository root with go.mod at its top, without
# tests, infrastructure, tools and VCS files. The object name carries the
# archive's hash, so a change of the code redeploys the functions.
resource "google_storage_bucket" "source" {
  name                        = local.buckets.source
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = local.labels

  depends_on = [google_project_service.api]
}

# A new archive is a new object; Terraform deletes the previous one.
data "archive_file" "source" {
  type        = "zip"
  source_dir  = local.repository
  output_path = "${path.root}/.terraform/hiring-pipeline-source.zip"
  excludes = [
    ".git/**", ".github/**", ".ci/**", ".hiring/**", ".terraform/**",
    "infra/**", "tools/**", "scripts/**", "docs/**", "out/**", "bin/**", "cmd/**",
    "**/*_test.go", "**/testdata/**", "**/*.test", "**/*.tfstate*",
  ]
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${data.archive_file.source.output_sha256}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}
