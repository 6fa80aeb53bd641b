-- Departments that hired more than the mean in @year. Every department of
-- the departments table is listed with its hires (0 for a department
-- without hires), the mean over all departments (hires in @year divided by
-- the number of departments), and above_mean; the endpoint and the metric
-- table keep the rows above the mean, the report draws them all.
-- Ordered by hires, most first, then by department.
-- The filter is on datetime, the partition column of hired_employees_raw.
WITH hires AS (
  SELECT d.id, d.department, COUNT(e.id) AS hired
  FROM departments AS d
  LEFT JOIN hired_employees AS e
    ON e.department_id = d.id
    AND e.datetime >= TIMESTAMP(DATE(@year, 1, 1))
    AND e.datetime < TIMESTAMP(DATE(@year + 1, 1, 1))
  GROUP BY d.id, d.department
),
mean AS (
  SELECT AVG(hired) AS mean FROM hires
)
SELECT h.id, h.department, h.hired, m.mean, h.hired > m.mean AS above_mean
FROM hires AS h
CROSS JOIN mean AS m
ORDER BY h.hired DESC, h.department
