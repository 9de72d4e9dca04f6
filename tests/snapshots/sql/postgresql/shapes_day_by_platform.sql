-- Northstar: (SHAPES, 4 sourced metrics), grain day, by platform,
-- 2026-01-01 .. 2026-03-31 in Europe/Berlin, compiled for postgresql. Values are shown inline; at run time they are bound parameters.
WITH agg_1 AS 
(SELECT rows_1.p AS p, rows_1.g AS g, count(rows_1.f0) AS n_f0 
FROM (SELECT CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) AS p, events.platform AS g, CASE WHEN ((events.event NOT IN ('signup', 'session_start')) OR events.event IS NULL) THEN 1 END AS f0 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND ((events.event NOT IN ('signup', 'session_start')) OR events.event IS NULL)) AS rows_1 GROUP BY rows_1.p, rows_1.g), 
user_days_1 AS 
(SELECT DISTINCT active_rows_1.u AS u, active_rows_1.d AS d, active_rows_1.g AS g 
FROM (SELECT events.user_id AS u, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) AS d, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-25 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'create_note' AND (events.platform != 'ios' OR events.platform IS NULL)) AS active_rows_1), 
lagged_1 AS 
(SELECT user_days_1.g AS g, user_days_1.d AS d, lag(user_days_1.d) OVER (PARTITION BY user_days_1.u, user_days_1.g ORDER BY user_days_1.d) AS prev 
FROM user_days_1), 
cohort_1 AS 
(SELECT cohort_days_1.u AS u, cohort_days_1.c AS c, cohort_days_1.p AS p, cohort_days_1.g AS g 
FROM (SELECT firsts_1.u AS u, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', firsts_1.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) AS c, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', firsts_1.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) AS p, firsts_1.g AS g 
FROM (SELECT cohort_ranked_1.u AS u, cohort_ranked_1.t AS t, cohort_ranked_1.g AS g 
FROM (SELECT cohort_events_1.u AS u, cohort_events_1.t AS t, cohort_events_1.g AS g, row_number() OVER (PARTITION BY cohort_events_1.u ORDER BY cohort_events_1.t, CASE WHEN (cohort_events_1.g IS NULL) THEN 0 ELSE 1 END, cohort_events_1.g) AS rn 
FROM (SELECT events.user_id AS u, events.ts AS t, events.platform AS g 
FROM events 
WHERE events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL) AS cohort_events_1) AS cohort_ranked_1 
WHERE cohort_ranked_1.rn = 1) AS firsts_1) AS cohort_days_1 
WHERE cohort_days_1.c >= 20454), 
user_days_2 AS 
(SELECT DISTINCT active_rows_2.u AS u, active_rows_2.d AS d, active_rows_2.g AS g 
FROM (SELECT events.user_id AS u, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) AS d, events.platform AS g 
FROM events 
WHERE events.ts >= '2026-01-01 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL) AS active_rows_2), 
cohort_2 AS 
(SELECT cohort_days_2.u AS u, cohort_days_2.c AS c, cohort_days_2.p AS p, cohort_days_2.g AS g 
FROM (SELECT firsts_2.u AS u, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', firsts_2.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) AS c, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', firsts_2.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) AS p, firsts_2.g AS g 
FROM (SELECT cohort_ranked_2.u AS u, cohort_ranked_2.t AS t, cohort_ranked_2.g AS g 
FROM (SELECT cohort_events_2.u AS u, cohort_events_2.t AS t, cohort_events_2.g AS g, row_number() OVER (PARTITION BY cohort_events_2.u ORDER BY cohort_events_2.t, CASE WHEN (cohort_events_2.g IS NULL) THEN 0 ELSE 1 END, cohort_events_2.g) AS rn 
FROM (SELECT events.user_id AS u, events.ts AS t, events.platform AS g 
FROM events 
WHERE events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND ((events.country NOT IN ('FR', 'IT')) OR events.country IS NULL)) AS cohort_events_2) AS cohort_ranked_2 
WHERE cohort_ranked_2.rn = 1) AS firsts_2) AS cohort_days_2 
WHERE cohort_days_2.c >= 20454), 
user_days_3 AS 
(SELECT DISTINCT active_rows_3.u AS u, active_rows_3.d AS d, active_rows_3.g AS g 
FROM (SELECT events.user_id AS u, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', events.ts)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) AS d, events.platform AS g 
FROM events 
WHERE events.ts >= '2026-01-07 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND ((events.country NOT IN ('FR', 'IT')) OR events.country IS NULL) AND events.event = 'purchase') AS active_rows_3)
 SELECT 'not_signups' AS metric, agg_1.p AS p, agg_1.g AS g, CAST(agg_1.n_f0 AS BIGINT) AS n, CAST(agg_1.n_f0 AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM agg_1 
WHERE agg_1.n_f0 > 0 UNION ALL SELECT 'non_ios_users' AS metric, per_day_1.x AS p, per_day_1.g AS g, CAST(NULL AS BIGINT) AS n, CAST(sum(per_day_1.s) OVER (PARTITION BY per_day_1.g ORDER BY per_day_1.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM (SELECT deltas_1.g AS g, deltas_1.x AS x, sum(deltas_1.delta) AS s 
FROM (SELECT lagged_1.g AS g, CASE WHEN (lagged_1.prev IS NULL OR lagged_1.prev + 7 <= lagged_1.d) THEN lagged_1.d ELSE lagged_1.prev + 7 END AS x, 1 AS delta 
FROM lagged_1 UNION ALL SELECT lagged_1.g AS g, lagged_1.d + 7 AS x, -1 AS delta 
FROM lagged_1) AS deltas_1 
WHERE deltas_1.x <= 20543 GROUP BY deltas_1.g, deltas_1.x) AS per_day_1 UNION ALL SELECT 'non_ios_users:groups' AS metric, 0 AS p, user_days_1.g AS g, CAST(NULL AS BIGINT) AS n, CAST(NULL AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM user_days_1 
WHERE user_days_1.d >= 20448 GROUP BY user_days_1.g UNION ALL SELECT 'first_seen_d1' AS metric, cohort_1.p AS p, cohort_1.g AS g, CAST(count(*) AS BIGINT) AS n, CAST(count(kept_1.u) AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM cohort_1 LEFT OUTER JOIN (SELECT DISTINCT cohort_1.u AS u 
FROM cohort_1 JOIN (SELECT DISTINCT user_days_2.u AS u, user_days_2.d AS d 
FROM user_days_2 
WHERE user_days_2.d >= 20455) AS returns_1 ON returns_1.u = cohort_1.u AND returns_1.d >= cohort_1.c + 1 AND returns_1.d <= cohort_1.c + 1) AS kept_1 ON kept_1.u = cohort_1.u GROUP BY cohort_1.p, cohort_1.g UNION ALL SELECT 'first_seen_purchase_w1' AS metric, cohort_2.p AS p, cohort_2.g AS g, CAST(count(*) AS BIGINT) AS n, CAST(count(kept_2.u) AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM cohort_2 LEFT OUTER JOIN (SELECT DISTINCT cohort_2.u AS u 
FROM cohort_2 JOIN (SELECT DISTINCT user_days_3.u AS u, user_days_3.d AS d 
FROM user_days_3 
WHERE user_days_3.d >= 20461) AS returns_2 ON returns_2.u = cohort_2.u AND returns_2.d >= cohort_2.c + 7 AND returns_2.d <= cohort_2.c + 13) AS kept_2 ON kept_2.u = cohort_2.u GROUP BY cohort_2.p, cohort_2.g;
