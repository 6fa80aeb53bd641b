variable "project_id" {
  description = "Google Cloud project to deploy into. Its billing must be enabled."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a project ID (6 to 30 lowercase letters, digits and hyphens), not its name or number."
  }
}

variable "region" {
  description = "Region of the functions, the buckets, the Eventarc trigger and the scheduler jobs, e.g. us-central1."
  type        = string

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as us-central1 or europe-west1."
  }
}

variable "admins" {
  description = "Principals with the admin role: may restore tables, back up, refresh the metrics, and do what readers and writers do. Each is user:EMAIL or serviceAccount:EMAIL (ID tokens carry an email, not a group). At least one."
  type        = list(string)

  validation {
    condition     = length(var.admins) > 0 && alltrue([for m in var.admins : can(regex("^(user|serviceAccount):[^@\\s]+@[^@\\s]+$", m))])
    error_message = "admins must hold at least one principal, each user:EMAIL or serviceAccount:EMAIL."
  }
}

variable "writers" {
  description = "Principals with the writer role: may insert rows through insert-rows. Each is user:EMAIL or serviceAccount:EMAIL."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.writers : can(regex("^(user|serviceAccount):[^@\\s]+@[^@\\s]+$", m))])
    error_message = "Each writer must be user:EMAIL or serviceAccount:EMAIL."
  }
}

variable "readers" {
  description = "Principals with the reader role: may read the metrics and the report. Each is user:EMAIL or serviceAccount:EMAIL."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for m in var.readers : can(regex("^(user|serviceAccount):[^@\\s]+@[^@\\s]+$", m))])
    error_message = "Each reader must be user:EMAIL or serviceAccount:EMAIL."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name: functions are <prefix>-load-csv and so on, buckets <project_id>-<prefix>-landing and so on, service accounts <prefix>-<role>."
  type        = string
  default     = "hiring"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,14}$", var.name_prefix))
    error_message = "name_prefix must be 1 to 15 lowercase letters, digits or hyphens, starting with a letter (service account ids are at most 30 characters)."
  }
}

variable "dataset_id" {
  description = "BigQuery dataset that holds the tables, views and metric tables."
  type        = string
  default     = "hiring"

  validation {
    condition     = can(regex("^[A-Za-z_][A-Za-z0-9_]*$", var.dataset_id)) && length(var.dataset_id) <= 1024
    error_message = "dataset_id must be at most 1024 letters, digits and underscores, not starting with a digit."
  }
}

variable "bigquery_location" {
  description = "Location of the dataset and its jobs: US, EU, or the functions' region. Load and extract jobs need the buckets to be in or within it."
  type        = string
  default     = "US"
}

variable "backup_schedule" {
  description = "When backup-tables runs, in cron format, in time_zone."
  type        = string
  default     = "0 2 * * *"
}

variable "metrics_refresh_schedule" {
  description = "When the metrics function refreshes the metric tables, in cron format, in time_zone."
  type        = string
  default     = "30 2 * * *"
}

variable "time_zone" {
  description = "Time zone of the schedules (tz database name)."
  type        = string
  default     = "Etc/UTC"
}

variable "backup_retention_days" {
  description = "Days a backup is kept in the backup bucket before its objects are deleted."
  type        = number
  default     = 30

  validation {
    condition     = var.backup_retention_days >= 1
    error_message = "backup_retention_days must be at least 1."
  }
}

variable "landing_noncurrent_days" {
  description = "Days an overwritten or deleted file of the landing bucket stays recoverable (object versioning)."
  type        = number
  default     = 30

  validation {
    condition     = var.landing_noncurrent_days >= 1
    error_message = "landing_noncurrent_days must be at least 1."
  }
}

variable "staging_retention_days" {
  description = "Days the Avro files of load jobs (valid/ and rejects/ in the staging bucket) are kept. They are only needed while a load runs. insert-rows' idempotency claims in the same bucket follow idempotency_retention_days instead."
  type        = number
  default     = 3

  validation {
    condition     = var.staging_retention_days >= 1
    error_message = "staging_retention_days must be at least 1."
  }
}

variable "idempotency_retention_days" {
  description = "Days an Idempotency-Key of insert-rows answers for its batch (sets HIRING_IDEMPOTENCY_RETENTION to this many times 24h): a retry with the key within it gets the first answer and writes nothing. After it the key names a new batch, whose rows are appended again (readers still see one row per id) and whose refused rows are recorded again, so make it longer than your callers retry. A lifecycle rule deletes the keys' claims (idempotency/ in the staging bucket) after as many days."
  type        = number
  default     = 1

  validation {
    condition     = var.idempotency_retention_days >= 1 && floor(var.idempotency_retention_days) == var.idempotency_retention_days
    error_message = "idempotency_retention_days must be a whole number of days, at least 1 (Cloud Storage lifecycle rules count whole days)."
  }
}

variable "metrics_years" {
  description = "Years that the scheduled refresh writes to the metric tables (HIRING_METRICS_YEARS): at least one, each from 1 to 9998."
  type        = list(number)
  default     = [2021, 2022]

  validation {
    condition     = length(var.metrics_years) > 0 && alltrue([for y in var.metrics_years : y >= 1 && y <= 9998 && floor(y) == y])
    error_message = "metrics_years must hold at least one year, each a whole number from 1 to 9998."
  }
}

variable "backup_codec" {
  description = "Compression of the backup Avro files: NONE, DEFLATE or SNAPPY (HIRING_BACKUP_CODEC)."
  type        = string
  default     = "SNAPPY"

  validation {
    condition     = contains(["NONE", "DEFLATE", "SNAPPY"], var.backup_codec)
    error_message = "backup_codec must be NONE, DEFLATE or SNAPPY."
  }
}

variable "staging_codec" {
  description = "Compression of the staged Avro files of load-csv: null, deflate or snappy (HIRING_STAGING_CODEC)."
  type        = string
  default     = "snappy"

  validation {
    condition     = contains(["null", "deflate", "snappy"], var.staging_codec)
    error_message = "staging_codec must be null, deflate or snappy."
  }
}

variable "reject_log_limit" {
  description = "Rejected rows of one file that load-csv logs one by one; the rest are counted in one line (HIRING_REJECT_LOG_LIMIT). rejected_rows keeps them all."
  type        = number
  default     = 100
}

variable "rejected_rows_retention_days" {
  description = "Days rejected_rows keeps a partition of rejected rows, raw records that may hold personal data, before BigQuery deletes it (its partition expiration)."
  type        = number
  default     = 90

  validation {
    condition     = var.rejected_rows_retention_days >= 1
    error_message = "rejected_rows_retention_days must be at least 1."
  }
}

variable "max_record_bytes" {
  description = "Largest CSV record load-csv keeps, in bytes (HIRING_MAX_RECORD_BYTES); a longer record is rejected with record_too_long and skipped to its end."
  type        = number
  default     = 65536
}

variable "max_fields" {
  description = "Most fields of a CSV record load-csv accepts (HIRING_MAX_FIELDS); a record with more is rejected with too_many_fields."
  type        = number
  default     = 64
}

variable "max_gzip_bytes" {
  description = "Most bytes a gzip file decompresses to before load-csv records it FAILED (HIRING_MAX_GZIP_BYTES); 4 GiB takes about 80 s of the 540 s timeout at the 1M rows (about 50 MiB) a second that one vCPU stages (infra/README.md, Capacity)."
  type        = number
  default     = 4294967296
}

variable "max_gzip_ratio" {
  description = "Most times its stored size a gzip file decompresses to, past 1 MiB, before load-csv records it FAILED as a gzip bomb (HIRING_MAX_GZIP_RATIO)."
  type        = number
  default     = 100
}

variable "max_body_bytes" {
  description = "Largest request body insert-rows accepts, in bytes (HIRING_MAX_BODY_BYTES)."
  type        = number
  default     = 2097152
}

variable "functions" {
  description = "Per function (load-csv, insert-rows, backup-tables, restore-table, metrics), overrides of its memory (e.g. 512Mi), cpu, timeout_seconds, max_instances and concurrency (requests per instance). Unset fields keep the defaults of locals.function_defaults in functions.tf."
  type = map(object({
    memory          = optional(string)
    cpu             = optional(string)
    timeout_seconds = optional(number)
    max_instances   = optional(number)
    concurrency     = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for k in keys(var.functions) : contains(["load-csv", "insert-rows", "backup-tables", "restore-table", "metrics"], k)])
    error_message = "functions may only name load-csv, insert-rows, backup-tables, restore-table and metrics."
  }
}

variable "deletion_protection" {
  description = "Protect the dataset's tables from deletion by Terraform. Turn off only to tear a test deployment down."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels added to every resource that takes labels."
  type        = map(string)
  default     = {}
}

variable "max_time_travel_hours" {
  description = "Hours of BigQuery time travel on the dataset (48 to 168, in steps of 24). backup-tables copies each raw table as of one point in time, which time travel must still reach; a backup_schedule that does not run daily needs 168."
  type        = number
  default     = 168

  validation {
    condition     = var.max_time_travel_hours >= 48 && var.max_time_travel_hours <= 168 && var.max_time_travel_hours % 24 == 0
    error_message = "max_time_travel_hours must be 48 to 168, in steps of 24."
  }
}

variable "backups_soft_delete_days" {
  description = "Days a deleted or replaced object of the backup bucket stays restorable (Cloud Storage soft delete), whoever deleted it: 7 to 90."
  type        = number
  default     = 7

  validation {
    condition     = var.backups_soft_delete_days >= 7 && var.backups_soft_delete_days <= 90 && floor(var.backups_soft_delete_days) == var.backups_soft_delete_days
    error_message = "backups_soft_delete_days must be a whole number from 7 to 90."
  }
}

variable "backups_retention_policy_days" {
  description = "When above 0, a retention policy on the backup bucket: no object younger than this many days can be deleted or replaced, by anyone. Must not exceed backup_retention_days, or the lifecycle rule cannot delete old backups on time. 0: none."
  type        = number
  default     = 0

  validation {
    condition     = var.backups_retention_policy_days >= 0 && floor(var.backups_retention_policy_days) == var.backups_retention_policy_days
    error_message = "backups_retention_policy_days must be a whole number of days, 0 for none."
  }
}

variable "backups_project_id" {
  description = "Project of the backup bucket, when it should not be the deployment's (empty: project_id). A separate project keeps the backups out of reach of the deployment project's owners and of its deletion; you must be able to create buckets and set IAM there. See infra/README.md."
  type        = string
  default     = ""

  validation {
    condition     = var.backups_project_id == "" || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.backups_project_id))
    error_message = "backups_project_id must be empty or a project ID."
  }
}

variable "backups_location" {
  description = "Location of the backup bucket (empty: region), e.g. a dual-region such as NAM4 or EUR4, or a multi-region such as US or EU, to keep the backups through a regional outage. It must lie within bigquery_location, where the extract jobs run. See infra/README.md."
  type        = string
  default     = ""
}

variable "notification_channels" {
  description = "Cloud Monitoring notification channels (projects/PROJECT/notificationChannels/ID) that the alert policies notify: load-csv failures and 5xx answers of the HTTP functions. Empty: the log-based metrics are created, the alert policies are not."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.notification_channels : can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))])
    error_message = "Each notification channel must be projects/PROJECT/notificationChannels/ID."
  }
}

variable "iam_propagation_wait" {
  description = "How long the functions wait after the grants that Eventarc and Cloud Build check on first use (a duration such as 90s): IAM takes effect within about a minute, sometimes more."
  type        = string
  default     = "90s"

  validation {
    condition     = can(regex("^[0-9]+[sm]$", var.iam_propagation_wait))
    error_message = "iam_propagation_wait must be a number of seconds or minutes, e.g. 90s or 2m."
  }
}

variable "image_versions_kept" {
  description = "Versions of each function image that the image repository's cleanup policy keeps, however old; older versions are deleted after a week."
  type        = number
  default     = 5

  validation {
    condition     = var.image_versions_kept >= 1
    error_message = "image_versions_kept must be at least 1."
  }
}
