-- Hires of @year per department and job, by quarter of the UTC hire time:
-- one row per (department, job) with at least one hire in the year,
-- ordered by department, then job (code point order).
-- The filter is on datetime, the partition column of hired_employees_raw.
SELECT
  d.department,
  j.job,
  COUNTIF(EXTRACT(QUARTER FROM e.datetime) = 1) AS Q1,
  COUNTIF(EXTRACT(QUARTER FROM e.datetime) = 2) AS Q2,
  COUNTIF(EXTRACT(QUARTER FROM e.datetime) = 3) AS Q3,
  COUNTIF(EXTRACT(QUARTER FROM e.datetime) = 4) AS Q4
FROM hired_employees AS e
JOIN departments AS d ON d.id = e.department_id
JOIN jobs AS j ON j.id = e.job_id
WHERE e.datetime >= TIMESTAMP(DATE(@year, 1, 1))
  AND e.datetime < TIMESTAMP(DATE(@year + 1, 1, 1))
GROUP BY d.department, j.job
ORDER BY d.department, j.job
