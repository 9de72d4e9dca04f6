-- Northstar: funnel shapes (tests/test_sql_snapshots.py FUNNEL_SHAPES, 3 sourced metrics), grain week, by -,
-- 2026-01-01 .. 2026-03-31 in Europe/Berlin, compiled for postgresql. Values are shown inline; at run time they are bound parameters.
WITH entries_1 AS 
(SELECT entry_rows_1.u AS u, entry_rows_1.p AS p, min(entry_rows_1.t) AS t0 
FROM (SELECT events.user_id AS u, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) - (CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) + 700003) % 7 AS p, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'signup') AS entry_rows_1 GROUP BY entry_rows_1.u, entry_rows_1.p), 
entries_2 AS 
(SELECT entry_rows_2.u AS u, entry_rows_2.p AS p, min(entry_rows_2.t) AS t0 
FROM (SELECT events.user_id AS u, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) - (CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) + 700003) % 7 AS p, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'signup') AS entry_rows_2 GROUP BY entry_rows_2.u, entry_rows_2.p), 
entries_3 AS 
(SELECT entry_rows_3.u AS u, entry_rows_3.p AS p, min(entry_rows_3.t) AS t0 
FROM (SELECT events.user_id AS u, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) - (CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) + 700003) % 7 AS p, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'signup') AS entry_rows_3 GROUP BY entry_rows_3.u, entry_rows_3.p)
 SELECT 'any_order' AS metric, entries_1.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(count(done_1.u) AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM entries_1 LEFT OUTER JOIN (SELECT step_1.u AS u, step_1.p AS p, step_1.t AS s2, step_2.t AS s3 
FROM (SELECT entries_1.u AS u, entries_1.p AS p, min(step_rows_1.t) AS t 
FROM entries_1 JOIN (SELECT events.user_id AS u, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'create_note') AS step_rows_1 ON step_rows_1.u = entries_1.u AND step_rows_1.t >= entries_1.t0 AND step_rows_1.t < entries_1.t0 + make_interval(secs=>604800.0) GROUP BY entries_1.u, entries_1.p) AS step_1 JOIN (SELECT entries_1.u AS u, entries_1.p AS p, min(step_rows_2.t) AS t 
FROM entries_1 JOIN (SELECT events.user_id AS u, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'create_project') AS step_rows_2 ON step_rows_2.u = entries_1.u AND step_rows_2.t >= entries_1.t0 AND step_rows_2.t < entries_1.t0 + make_interval(secs=>604800.0) GROUP BY entries_1.u, entries_1.p) AS step_2 ON step_2.u = step_1.u AND step_2.p = step_1.p) AS done_1 ON done_1.u = entries_1.u AND done_1.p = entries_1.p GROUP BY entries_1.p UNION ALL SELECT 'strict_exclude' AS metric, entries_2.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(count(kept_1.u) AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM entries_2 LEFT OUTER JOIN (SELECT step_5.u AS u, step_5.p AS p 
FROM (SELECT step_4.u AS u, step_4.p AS p, step_4.t0 AS t0, min(step_rows_4.t) AS t 
FROM (SELECT step_3.u AS u, step_3.p AS p, step_3.t0 AS t0, min(step_rows_3.t) AS t 
FROM (SELECT entries_2.u AS u, entries_2.p AS p, entries_2.t0 AS t0, entries_2.t0 AS t 
FROM entries_2) AS step_3 JOIN (SELECT events.user_id AS u, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'create_note') AS step_rows_3 ON step_rows_3.u = step_3.u AND step_rows_3.t >= step_3.t AND step_rows_3.t < step_3.t0 + make_interval(secs=>604800.0) GROUP BY step_3.u, step_3.p, step_3.t0) AS step_4 JOIN (SELECT events.user_id AS u, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'create_project') AS step_rows_4 ON step_rows_4.u = step_4.u AND step_rows_4.t >= step_4.t AND step_rows_4.t < step_4.t0 + make_interval(secs=>604800.0) GROUP BY step_4.u, step_4.p, step_4.t0) AS step_5 LEFT OUTER JOIN (SELECT entries_2.u AS u, entries_2.p AS p, min(excluded_rows_1.t) AS tx 
FROM entries_2 JOIN (SELECT events.user_id AS u, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('purchase')) AS excluded_rows_1 ON excluded_rows_1.u = entries_2.u AND excluded_rows_1.t > entries_2.t0 AND excluded_rows_1.t < entries_2.t0 + make_interval(secs=>604800.0) GROUP BY entries_2.u, entries_2.p) AS excluded_1 ON excluded_1.u = step_5.u AND excluded_1.p = step_5.p 
WHERE excluded_1.tx IS NULL OR step_5.t <= excluded_1.tx) AS kept_1 ON kept_1.u = entries_2.u AND kept_1.p = entries_2.p GROUP BY entries_2.p UNION ALL SELECT 'any_exclude' AS metric, entries_3.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(count(kept_2.u) AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM entries_3 LEFT OUTER JOIN (SELECT done_2.u AS u, done_2.p AS p 
FROM (SELECT step_6.u AS u, step_6.p AS p, step_6.t AS s2, step_7.t AS s3 
FROM (SELECT entries_3.u AS u, entries_3.p AS p, min(step_rows_5.t) AS t 
FROM entries_3 JOIN (SELECT events.user_id AS u, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'create_note') AS step_rows_5 ON step_rows_5.u = entries_3.u AND step_rows_5.t >= entries_3.t0 AND step_rows_5.t < entries_3.t0 + make_interval(secs=>604800.0) GROUP BY entries_3.u, entries_3.p) AS step_6 JOIN (SELECT entries_3.u AS u, entries_3.p AS p, min(step_rows_6.t) AS t 
FROM entries_3 JOIN (SELECT events.user_id AS u, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'create_project') AS step_rows_6 ON step_rows_6.u = entries_3.u AND step_rows_6.t >= entries_3.t0 AND step_rows_6.t < entries_3.t0 + make_interval(secs=>604800.0) GROUP BY entries_3.u, entries_3.p) AS step_7 ON step_7.u = step_6.u AND step_7.p = step_6.p) AS done_2 LEFT OUTER JOIN (SELECT entries_3.u AS u, entries_3.p AS p, min(excluded_rows_2.t) AS tx 
FROM entries_3 JOIN (SELECT events.user_id AS u, events.ts AS t 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('purchase', 'page_view')) AS excluded_rows_2 ON excluded_rows_2.u = entries_3.u AND excluded_rows_2.t > entries_3.t0 AND excluded_rows_2.t < entries_3.t0 + make_interval(secs=>604800.0) GROUP BY entries_3.u, entries_3.p) AS excluded_2 ON excluded_2.u = done_2.u AND excluded_2.p = done_2.p 
WHERE excluded_2.tx IS NULL OR done_2.s2 <= excluded_2.tx AND done_2.s3 <= excluded_2.tx) AS kept_2 ON kept_2.u = entries_3.u AND kept_2.p = entries_3.p GROUP BY entries_3.p;
