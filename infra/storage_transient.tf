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

# The functions' source: the repository root with go.mod at its top, as the
# Go buildpack builds it. Only what the build needs is uploaded.
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

locals {
  # The source archive is an allow-list: these files and folders of the
  # repository root, without tests and test data. Anything else at the
  # root (a key file, a local tfvars, build output) is left out, so a new
  # top-level file reaches the functions only when it is added here.
  # infra/source_test.go copies exactly this list to a new folder and runs
  # `go build .` and `go vet .` there, as the buildpack would.
  source_allow_list = ["go.mod", "go.sum", "functions.go", "functions", "internal", "schemas"]
  source_excluded   = ["**/*_test.go", "**/testdata/**"]

  # archive_file takes only exclusions, so every other top-level entry is
  # excluded, as itself and as a folder.
  source_top_level = distinct([for f in fileset(local.repository, "**") : split("/", f)[0]])
  source_excludes = concat(
    flatten([for e in local.source_top_level : [e, "${e}/**"] if !contains(local.source_allow_list, e)]),
    local.source_excluded,
  )
}

# A new archive is a new object; Terraform deletes the previous one. The
# file mode is fixed so that the same source hashes alike on every machine,
# whatever its umask.
data "archive_file" "source" {
  type             = "zip"
  source_dir       = local.repository
  output_path      = "${path.root}/.terraform/hiring-pipeline-source.zip"
  output_file_mode = "0644"
  excludes         = local.source_excludes
}

resource "google_storage_bucket_object" "source" {
  name   = "source-${data.archive_file.source.output_sha256}.zip"
  bucket = google_storage_bucket.source.name
  source = data.archive_file.source.output_path
}
