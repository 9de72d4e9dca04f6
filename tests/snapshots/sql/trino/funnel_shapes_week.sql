-- Northstar: funnel shapes (tests/test_sql_snapshots.py FUNNEL_SHAPES, 3 sourced metrics), grain week, by -,
-- 2026-01-01 .. 2026-03-31 in Europe/Berlin, compiled for trino. Values are shown inline; at run time they are bound parameters.
WITH funnel_rows_1 AS 
(SELECT events.user_id AS u, events.ts AS t, CASE WHEN (events.event = 'signup') THEN 0 WHEN (events.event = 'create_note') THEN 1 WHEN (events.event = 'create_project') THEN 2 ELSE 3 END AS k 
FROM events 
WHERE events.ts >= CAST('2025-12-31 23:00:00.000000' AS TIMESTAMP) AND events.ts < CAST('2026-03-31 22:00:00.000000' AS TIMESTAMP) AND events.user_id IS NOT NULL AND events.event IN ('signup', 'create_note', 'create_project')), 
funnel_kept_1 AS 
(SELECT funnel_pass_1.u AS u, funnel_pass_1.t AS t, funnel_pass_1.k AS k, funnel_pass_1.s2 AS s2, funnel_pass_1.s3 AS s3 
FROM (SELECT funnel_rows_1.u AS u, funnel_rows_1.t AS t, funnel_rows_1.k AS k, min(CASE WHEN (funnel_rows_1.k = 1) THEN funnel_rows_1.t END) OVER (PARTITION BY funnel_rows_1.u ORDER BY funnel_rows_1.t DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s2, min(CASE WHEN (funnel_rows_1.k = 2) THEN funnel_rows_1.t END) OVER (PARTITION BY funnel_rows_1.u ORDER BY funnel_rows_1.t DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s3 
FROM funnel_rows_1) AS funnel_pass_1 
WHERE funnel_pass_1.k = 0), 
funnel_entries_1 AS 
(SELECT funnel_kept_1.u AS u, funnel_kept_1.t AS t, funnel_kept_1.s2 AS s2, funnel_kept_1.s3 AS s3, date_diff('day', CAST('1970-01-01' AS DATE), CAST(CAST(at_timezone(with_timezone(funnel_kept_1.t, 'UTC'), 'Europe/Berlin') AS TIMESTAMP) AS DATE)) - (date_diff('day', CAST('1970-01-01' AS DATE), CAST(CAST(at_timezone(with_timezone(funnel_kept_1.t, 'UTC'), 'Europe/Berlin') AS TIMESTAMP) AS DATE)) + 700003) % 7 AS p 
FROM funnel_kept_1), 
funnel_rows_2 AS 
(SELECT events.user_id AS u, events.ts AS t, CASE WHEN (events.event = 'signup') THEN 0 WHEN (events.event = 'create_note') THEN 1 WHEN (events.event = 'create_project') THEN 2 ELSE 3 END AS k 
FROM events 
WHERE events.ts >= CAST('2025-12-31 23:00:00.000000' AS TIMESTAMP) AND events.ts < CAST('2026-03-31 22:00:00.000000' AS TIMESTAMP) AND events.user_id IS NOT NULL AND events.event IN ('signup', 'create_note', 'create_project', 'purchase')), 
funnel_kept_2 AS 
(SELECT funnel_pass_2.u AS u, funnel_pass_2.t AS t, funnel_pass_2.k AS k, CASE WHEN (funnel_pass_2.k = 1) THEN funnel_pass_2.done END AS h, funnel_pass_2.x AS x 
FROM (SELECT funnel_rows_2.u AS u, funnel_rows_2.t AS t, funnel_rows_2.k AS k, min(CASE WHEN (funnel_rows_2.k = 2) THEN funnel_rows_2.t END) OVER (PARTITION BY funnel_rows_2.u ORDER BY funnel_rows_2.t DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS done, min(CASE WHEN (funnel_rows_2.k = 3) THEN funnel_rows_2.t END) OVER (PARTITION BY funnel_rows_2.u ORDER BY funnel_rows_2.t DESC, CASE WHEN (funnel_rows_2.k = 3) THEN 1 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS x 
FROM funnel_rows_2) AS funnel_pass_2 
WHERE funnel_pass_2.k IN (0, 1)), 
funnel_kept_3 AS 
(SELECT funnel_pass_3.u AS u, funnel_pass_3.t AS t, funnel_pass_3.k AS k, funnel_pass_3.x AS x, CASE WHEN (funnel_pass_3.k = 0) THEN funnel_pass_3.done END AS h 
FROM (SELECT funnel_kept_2.u AS u, funnel_kept_2.t AS t, funnel_kept_2.k AS k, funnel_kept_2.x AS x, min(CASE WHEN (funnel_kept_2.k = 1) THEN funnel_kept_2.h END) OVER (PARTITION BY funnel_kept_2.u ORDER BY funnel_kept_2.t DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS done 
FROM funnel_kept_2) AS funnel_pass_3 
WHERE funnel_pass_3.k = 0), 
funnel_entries_2 AS 
(SELECT funnel_kept_3.u AS u, funnel_kept_3.t AS t, funnel_kept_3.h AS h, funnel_kept_3.x AS x, date_diff('day', CAST('1970-01-01' AS DATE), CAST(CAST(at_timezone(with_timezone(funnel_kept_3.t, 'UTC'), 'Europe/Berlin') AS TIMESTAMP) AS DATE)) - (date_diff('day', CAST('1970-01-01' AS DATE), CAST(CAST(at_timezone(with_timezone(funnel_kept_3.t, 'UTC'), 'Europe/Berlin') AS TIMESTAMP) AS DATE)) + 700003) % 7 AS p 
FROM funnel_kept_3), 
funnel_rows_3 AS 
(SELECT events.user_id AS u, events.ts AS t, CASE WHEN (events.event = 'signup') THEN 0 WHEN (events.event = 'create_note') THEN 1 WHEN (events.event = 'create_project') THEN 2 ELSE 3 END AS k 
FROM events 
WHERE events.ts >= CAST('2025-12-31 23:00:00.000000' AS TIMESTAMP) AND events.ts < CAST('2026-03-31 22:00:00.000000' AS TIMESTAMP) AND events.user_id IS NOT NULL AND events.event IN ('signup', 'create_note', 'create_project', 'purchase', 'page_view')), 
funnel_kept_4 AS 
(SELECT funnel_pass_4.u AS u, funnel_pass_4.t AS t, funnel_pass_4.k AS k, funnel_pass_4.s2 AS s2, funnel_pass_4.s3 AS s3, funnel_pass_4.x AS x 
FROM (SELECT funnel_rows_3.u AS u, funnel_rows_3.t AS t, funnel_rows_3.k AS k, min(CASE WHEN (funnel_rows_3.k = 1) THEN funnel_rows_3.t END) OVER (PARTITION BY funnel_rows_3.u ORDER BY funnel_rows_3.t DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s2, min(CASE WHEN (funnel_rows_3.k = 2) THEN funnel_rows_3.t END) OVER (PARTITION BY funnel_rows_3.u ORDER BY funnel_rows_3.t DESC RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s3, min(CASE WHEN (funnel_rows_3.k = 3) THEN funnel_rows_3.t END) OVER (PARTITION BY funnel_rows_3.u ORDER BY funnel_rows_3.t DESC, CASE WHEN (funnel_rows_3.k = 3) THEN 1 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS x 
FROM funnel_rows_3) AS funnel_pass_4 
WHERE funnel_pass_4.k = 0), 
funnel_entries_3 AS 
(SELECT funnel_kept_4.u AS u, funnel_kept_4.t AS t, funnel_kept_4.s2 AS s2, funnel_kept_4.s3 AS s3, funnel_kept_4.x AS x, date_diff('day', CAST('1970-01-01' AS DATE), CAST(CAST(at_timezone(with_timezone(funnel_kept_4.t, 'UTC'), 'Europe/Berlin') AS TIMESTAMP) AS DATE)) - (date_diff('day', CAST('1970-01-01' AS DATE), CAST(CAST(at_timezone(with_timezone(funnel_kept_4.t, 'UTC'), 'Europe/Berlin') AS TIMESTAMP) AS DATE)) + 700003) % 7 AS p 
FROM funnel_kept_4)
 SELECT 'any_order' AS metric, funnel_ranked_1.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(sum(CASE WHEN (funnel_ranked_1.s2 < date_add('millisecond', 604800000, funnel_ranked_1.t) AND funnel_ranked_1.s3 < date_add('millisecond', 604800000, funnel_ranked_1.t)) THEN 1 ELSE 0 END) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM (SELECT funnel_entries_1.u AS u, funnel_entries_1.t AS t, funnel_entries_1.s2 AS s2, funnel_entries_1.s3 AS s3, funnel_entries_1.p AS p, row_number() OVER (PARTITION BY funnel_entries_1.u, funnel_entries_1.p ORDER BY funnel_entries_1.t) AS rn 
FROM funnel_entries_1) AS funnel_ranked_1 
WHERE funnel_ranked_1.rn = 1 GROUP BY funnel_ranked_1.p UNION ALL SELECT 'strict_exclude' AS metric, funnel_ranked_2.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(sum(CASE WHEN (funnel_ranked_2.h < date_add('millisecond', 604800000, funnel_ranked_2.t) AND (funnel_ranked_2.x IS NULL OR funnel_ranked_2.h <= funnel_ranked_2.x)) THEN 1 ELSE 0 END) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM (SELECT funnel_entries_2.u AS u, funnel_entries_2.t AS t, funnel_entries_2.h AS h, funnel_entries_2.x AS x, funnel_entries_2.p AS p, row_number() OVER (PARTITION BY funnel_entries_2.u, funnel_entries_2.p ORDER BY funnel_entries_2.t) AS rn 
FROM funnel_entries_2) AS funnel_ranked_2 
WHERE funnel_ranked_2.rn = 1 GROUP BY funnel_ranked_2.p UNION ALL SELECT 'any_exclude' AS metric, funnel_ranked_3.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(sum(CASE WHEN (funnel_ranked_3.s2 < date_add('millisecond', 604800000, funnel_ranked_3.t) AND funnel_ranked_3.s3 < date_add('millisecond', 604800000, funnel_ranked_3.t) AND (funnel_ranked_3.x IS NULL OR funnel_ranked_3.s2 <= funnel_ranked_3.x AND funnel_ranked_3.s3 <= funnel_ranked_3.x)) THEN 1 ELSE 0 END) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM (SELECT funnel_entries_3.u AS u, funnel_entries_3.t AS t, funnel_entries_3.s2 AS s2, funnel_entries_3.s3 AS s3, funnel_entries_3.x AS x, funnel_entries_3.p AS p, row_number() OVER (PARTITION BY funnel_entries_3.u, funnel_entries_3.p ORDER BY funnel_entries_3.t) AS rn 
FROM funnel_entries_3) AS funnel_ranked_3 
WHERE funnel_ranked_3.rn = 1 GROUP BY funnel_ranked_3.p;
