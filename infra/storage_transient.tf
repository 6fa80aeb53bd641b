# Buckets whose objects are transient or reproducible, so without
# versioning: the staged Avro files of loads in flight, and the functions'
# source archives, which the repository rebuilds.

# Avro files of load jobs: needed only while their load job runs, deleted
# after staging_retention_days.
resource "google_storage_bucket" "staging" {
  name                        = local.buckets.staging
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true
  labels                      = local.labels

  lifecycle_rule {
    condition {
      age = var.staging_retention_days
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
