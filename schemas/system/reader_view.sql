-- The reader view of a dictionary table: per key, the row ingested last,
-- ties broken by ingestion id, then by position in the source. Terraform
-- fills it with templatefile() and internal/warehouse with the same values:
-- dataset, raw_table, columns (comma separated) and key.
SELECT ${columns}
FROM `${dataset}.${raw_table}`
WHERE TRUE
QUALIFY ROW_NUMBER() OVER (PARTITION BY ${key} ORDER BY _ingested_at DESC, _ingestion_id DESC, _ordinal DESC) = 1
