-- Northstar: the demo metric pack (config/metrics.yaml, 14 sourced metrics), grain week, by -,
-- 2026-01-01 .. 2026-03-31 in Europe/Berlin, compiled for sqlite. Values are shown inline; at run time they are bound parameters.
WITH agg_1 AS 
(SELECT rows_1.p AS p, count(rows_1.f0) AS n_f0, count(rows_1.f1) AS n_f1, count(rows_1.f2) AS n_f2, count(rows_1.f3) AS n_f3, sum(rows_1.x2) AS a_x2, count(DISTINCT rows_1.x3) AS a_x3 
FROM (SELECT CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', strftime('%Y-%m-%d %H:%M:%f', events.ts), CASE WHEN (strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) - (CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', strftime('%Y-%m-%d %H:%M:%f', events.ts), CASE WHEN (strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) + 700003) % 7 AS p, CASE WHEN (events.event = 'signup') THEN 1 END AS f0, CASE WHEN (events.event = 'upgrade') THEN 1 END AS f1, CASE WHEN (events.event = 'purchase') THEN 1 END AS f2, CASE WHEN (events.event = 'page_view') THEN 1 END AS f3, CASE WHEN (events.event = 'purchase') THEN events.amount END AS x2, CASE WHEN (events.event = 'purchase') THEN events.user_id END AS x3, CASE WHEN (events.event = 'page_view') THEN events.load_ms END AS x4 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) >= '2025-12-31 23:00:00.000' AND strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND (events.event = 'signup' OR events.event = 'upgrade' OR events.event = 'purchase' OR events.event = 'page_view')) AS rows_1 GROUP BY rows_1.p), 
user_days_1 AS 
(SELECT DISTINCT active_rows_1.u AS u, active_rows_1.d AS d 
FROM (SELECT events.user_id AS u, CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', strftime('%Y-%m-%d %H:%M:%f', events.ts), CASE WHEN (strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) AS d 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) >= '2025-12-25 23:00:00.000' AND strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND events.user_id IS NOT NULL AND events.event = 'create_note') AS active_rows_1), 
lagged_1 AS 
(SELECT user_days_1.d AS d, lag(user_days_1.d) OVER (PARTITION BY user_days_1.u ORDER BY user_days_1.d) AS prev 
FROM user_days_1), 
user_days_2 AS 
(SELECT DISTINCT active_rows_2.u AS u, active_rows_2.d AS d 
FROM (SELECT events.user_id AS u, CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', strftime('%Y-%m-%d %H:%M:%f', events.ts), CASE WHEN (strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) AS d 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) >= '2025-12-04 23:00:00.000' AND strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND events.user_id IS NOT NULL AND events.event = 'session_start') AS active_rows_2), 
lagged_2 AS 
(SELECT user_days_2.d AS d, lag(user_days_2.d) OVER (PARTITION BY user_days_2.u ORDER BY user_days_2.d) AS prev 
FROM user_days_2), 
user_days_3 AS 
(SELECT DISTINCT active_rows_3.u AS u, active_rows_3.d AS d 
FROM (SELECT events.user_id AS u, CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', strftime('%Y-%m-%d %H:%M:%f', events.ts), CASE WHEN (strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) AS d 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) >= '2025-12-25 23:00:00.000' AND strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND events.user_id IS NOT NULL AND events.event = 'use_ai_summary') AS active_rows_3), 
lagged_3 AS 
(SELECT user_days_3.d AS d, lag(user_days_3.d) OVER (PARTITION BY user_days_3.u ORDER BY user_days_3.d) AS prev 
FROM user_days_3), 
entries_1 AS 
(SELECT entry_rows_1.u AS u, entry_rows_1.p AS p, min(entry_rows_1.t) AS t0 
FROM (SELECT events.user_id AS u, CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', strftime('%Y-%m-%d %H:%M:%f', events.ts), CASE WHEN (strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) - (CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', strftime('%Y-%m-%d %H:%M:%f', events.ts), CASE WHEN (strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) + 700003) % 7 AS p, strftime('%Y-%m-%d %H:%M:%f', events.ts) AS t 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) >= '2025-12-31 23:00:00.000' AND strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND events.user_id IS NOT NULL AND events.event = 'signup') AS entry_rows_1 GROUP BY entry_rows_1.u, entry_rows_1.p), 
cohort_1 AS 
(SELECT cohort_days_1.u AS u, cohort_days_1.c AS c, cohort_days_1.p AS p 
FROM (SELECT firsts_1.u AS u, CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', firsts_1.t, CASE WHEN (firsts_1.t < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) AS c, CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', firsts_1.t, CASE WHEN (firsts_1.t < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) - (CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', firsts_1.t, CASE WHEN (firsts_1.t < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) + 700003) % 7 AS p 
FROM (SELECT cohort_events_1.u AS u, min(cohort_events_1.t) AS t 
FROM (SELECT events.user_id AS u, strftime('%Y-%m-%d %H:%M:%f', events.ts) AS t 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND events.user_id IS NOT NULL AND events.event = 'signup') AS cohort_events_1 GROUP BY cohort_events_1.u) AS firsts_1) AS cohort_days_1 
WHERE cohort_days_1.c >= 20454)
 SELECT 'signups' AS metric, agg_1.p AS p, CAST(agg_1.n_f0 AS BIGINT) AS n, CAST(agg_1.n_f0 AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM agg_1 
WHERE agg_1.n_f0 > 0 UNION ALL SELECT 'paid_conversions' AS metric, agg_1.p AS p, CAST(agg_1.n_f1 AS BIGINT) AS n, CAST(agg_1.n_f1 AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM agg_1 
WHERE agg_1.n_f1 > 0 UNION ALL SELECT 'revenue' AS metric, agg_1.p AS p, CAST(agg_1.n_f2 AS BIGINT) AS n, CAST(agg_1.a_x2 AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM agg_1 
WHERE agg_1.n_f2 > 0 UNION ALL SELECT 'paying_users' AS metric, agg_1.p AS p, CAST(agg_1.n_f2 AS BIGINT) AS n, CAST(agg_1.a_x3 AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM agg_1 
WHERE agg_1.n_f2 > 0 UNION ALL SELECT 'p90_page_load' AS metric, agg_1.p AS p, CAST(agg_1.n_f3 AS BIGINT) AS n, CAST(NULL AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM agg_1 
WHERE agg_1.n_f3 > 0 UNION ALL SELECT 'p90_page_load:pct' AS metric, pct_ranked_1.p AS p, CAST(max(pct_ranked_1.cnt) AS BIGINT) AS n, CAST(min(CASE WHEN (pct_ranked_1.rn = CAST((pct_ranked_1.cnt - 1) * 0.9 AS INTEGER)) THEN pct_ranked_1.x END) AS DOUBLE) AS v, CAST(min(CASE WHEN (pct_ranked_1.rn = CAST((pct_ranked_1.cnt - 1) * 0.9 AS INTEGER) + 1) THEN pct_ranked_1.x END) AS DOUBLE) AS w 
FROM (SELECT pct_rows_1.p AS p, pct_rows_1.x AS x, row_number() OVER (PARTITION BY pct_rows_1.p ORDER BY pct_rows_1.x) - 1 AS rn, count(*) OVER (PARTITION BY pct_rows_1.p) AS cnt 
FROM (SELECT CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', strftime('%Y-%m-%d %H:%M:%f', events.ts), CASE WHEN (strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) - (CAST(julianday(date(strftime('%Y-%m-%d %H:%M:%f', strftime('%Y-%m-%d %H:%M:%f', events.ts), CASE WHEN (strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-29 01:00:00.000') THEN '+3600 seconds' ELSE '+7200 seconds' END))) - 2440587.5 AS INTEGER) + 700003) % 7 AS p, events.load_ms AS x 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) >= '2025-12-31 23:00:00.000' AND strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND events.load_ms IS NOT NULL AND events.event = 'page_view') AS pct_rows_1) AS pct_ranked_1 GROUP BY pct_ranked_1.p UNION ALL SELECT 'weekly_active_writers' AS metric, per_day_1.x AS p, CAST(NULL AS BIGINT) AS n, CAST(sum(per_day_1.s) OVER (ORDER BY per_day_1.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM (SELECT deltas_1.x AS x, sum(deltas_1.delta) AS s 
FROM (SELECT CASE WHEN (lagged_1.prev IS NULL OR lagged_1.prev + 7 <= lagged_1.d) THEN lagged_1.d ELSE lagged_1.prev + 7 END AS x, 1 AS delta 
FROM lagged_1 UNION ALL SELECT lagged_1.d + 7 AS x, -1 AS delta 
FROM lagged_1) AS deltas_1 
WHERE deltas_1.x <= 20543 GROUP BY deltas_1.x) AS per_day_1 UNION ALL SELECT 'dau' AS metric, per_day_2.x AS p, CAST(NULL AS BIGINT) AS n, CAST(sum(per_day_2.s) OVER (ORDER BY per_day_2.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM (SELECT deltas_2.x AS x, sum(deltas_2.delta) AS s 
FROM (SELECT CASE WHEN (lagged_2.prev IS NULL OR lagged_2.prev + 1 <= lagged_2.d) THEN lagged_2.d ELSE lagged_2.prev + 1 END AS x, 1 AS delta 
FROM lagged_2 UNION ALL SELECT lagged_2.d + 1 AS x, -1 AS delta 
FROM lagged_2) AS deltas_2 
WHERE deltas_2.x <= 20543 GROUP BY deltas_2.x) AS per_day_2 UNION ALL SELECT 'wau' AS metric, per_day_3.x AS p, CAST(NULL AS BIGINT) AS n, CAST(sum(per_day_3.s) OVER (ORDER BY per_day_3.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM (SELECT deltas_3.x AS x, sum(deltas_3.delta) AS s 
FROM (SELECT CASE WHEN (lagged_2.prev IS NULL OR lagged_2.prev + 7 <= lagged_2.d) THEN lagged_2.d ELSE lagged_2.prev + 7 END AS x, 1 AS delta 
FROM lagged_2 UNION ALL SELECT lagged_2.d + 7 AS x, -1 AS delta 
FROM lagged_2) AS deltas_3 
WHERE deltas_3.x <= 20543 GROUP BY deltas_3.x) AS per_day_3 UNION ALL SELECT 'mau' AS metric, per_day_4.x AS p, CAST(NULL AS BIGINT) AS n, CAST(sum(per_day_4.s) OVER (ORDER BY per_day_4.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM (SELECT deltas_4.x AS x, sum(deltas_4.delta) AS s 
FROM (SELECT CASE WHEN (lagged_2.prev IS NULL OR lagged_2.prev + 28 <= lagged_2.d) THEN lagged_2.d ELSE lagged_2.prev + 28 END AS x, 1 AS delta 
FROM lagged_2 UNION ALL SELECT lagged_2.d + 28 AS x, -1 AS delta 
FROM lagged_2) AS deltas_4 
WHERE deltas_4.x <= 20543 GROUP BY deltas_4.x) AS per_day_4 UNION ALL SELECT 'ai_summary_users' AS metric, per_day_5.x AS p, CAST(NULL AS BIGINT) AS n, CAST(sum(per_day_5.s) OVER (ORDER BY per_day_5.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM (SELECT deltas_5.x AS x, sum(deltas_5.delta) AS s 
FROM (SELECT CASE WHEN (lagged_3.prev IS NULL OR lagged_3.prev + 7 <= lagged_3.d) THEN lagged_3.d ELSE lagged_3.prev + 7 END AS x, 1 AS delta 
FROM lagged_3 UNION ALL SELECT lagged_3.d + 7 AS x, -1 AS delta 
FROM lagged_3) AS deltas_5 
WHERE deltas_5.x <= 20543 GROUP BY deltas_5.x) AS per_day_5 UNION ALL SELECT 'activation' AS metric, entries_1.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(count(step_4.u) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM entries_1 LEFT OUTER JOIN (SELECT step_3.u AS u, step_3.p AS p, step_3.t0 AS t0, min(step_rows_3.t) AS t 
FROM (SELECT step_2.u AS u, step_2.p AS p, step_2.t0 AS t0, min(step_rows_2.t) AS t 
FROM (SELECT step_1.u AS u, step_1.p AS p, step_1.t0 AS t0, min(step_rows_1.t) AS t 
FROM (SELECT entries_1.u AS u, entries_1.p AS p, entries_1.t0 AS t0, entries_1.t0 AS t 
FROM entries_1) AS step_1 JOIN (SELECT events.user_id AS u, strftime('%Y-%m-%d %H:%M:%f', events.ts) AS t 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) >= '2025-12-31 23:00:00.000' AND strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND events.user_id IS NOT NULL AND events.event = 'create_note') AS step_rows_1 ON step_rows_1.u = step_1.u AND step_rows_1.t >= step_1.t AND step_rows_1.t < strftime('%Y-%m-%d %H:%M:%f', step_1.t0, '+604800.000 seconds') GROUP BY step_1.u, step_1.p, step_1.t0) AS step_2 JOIN (SELECT events.user_id AS u, strftime('%Y-%m-%d %H:%M:%f', events.ts) AS t 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) >= '2025-12-31 23:00:00.000' AND strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND events.user_id IS NOT NULL AND events.event = 'create_project') AS step_rows_2 ON step_rows_2.u = step_2.u AND step_rows_2.t >= step_2.t AND step_rows_2.t < strftime('%Y-%m-%d %H:%M:%f', step_2.t0, '+604800.000 seconds') GROUP BY step_2.u, step_2.p, step_2.t0) AS step_3 JOIN (SELECT events.user_id AS u, strftime('%Y-%m-%d %H:%M:%f', events.ts) AS t 
FROM events 
WHERE strftime('%Y-%m-%d %H:%M:%f', events.ts) >= '2025-12-31 23:00:00.000' AND strftime('%Y-%m-%d %H:%M:%f', events.ts) < '2026-03-31 22:00:00.000' AND events.user_id IS NOT NULL AND events.event = 'invite_teammate') AS step_rows_3 ON step_rows_3.u = step_3.u AND step_rows_3.t >= step_3.t AND step_rows_3.t < strftime('%Y-%m-%d %H:%M:%f', step_3.t0, '+604800.000 seconds') GROUP BY step_3.u, step_3.p, step_3.t0) AS step_4 ON step_4.u = entries_1.u AND step_4.p = entries_1.p GROUP BY entries_1.p UNION ALL SELECT 'd1_retention' AS metric, cohort_1.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(count(kept_1.u) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM cohort_1 LEFT OUTER JOIN (SELECT DISTINCT cohort_1.u AS u 
FROM cohort_1 JOIN (SELECT DISTINCT user_days_2.u AS u, user_days_2.d AS d 
FROM user_days_2 
WHERE user_days_2.d >= 20455) AS returns_1 ON returns_1.u = cohort_1.u AND returns_1.d >= cohort_1.c + 1 AND returns_1.d <= cohort_1.c + 1) AS kept_1 ON kept_1.u = cohort_1.u GROUP BY cohort_1.p UNION ALL SELECT 'd7_retention' AS metric, cohort_1.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(count(kept_2.u) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM cohort_1 LEFT OUTER JOIN (SELECT DISTINCT cohort_1.u AS u 
FROM cohort_1 JOIN (SELECT DISTINCT user_days_2.u AS u, user_days_2.d AS d 
FROM user_days_2 
WHERE user_days_2.d >= 20461) AS returns_2 ON returns_2.u = cohort_1.u AND returns_2.d >= cohort_1.c + 7 AND returns_2.d <= cohort_1.c + 7) AS kept_2 ON kept_2.u = cohort_1.u GROUP BY cohort_1.p UNION ALL SELECT 'd30_retention' AS metric, cohort_1.p AS p, CAST(count(*) AS BIGINT) AS n, CAST(count(kept_3.u) AS DOUBLE) AS v, CAST(NULL AS DOUBLE) AS w 
FROM cohort_1 LEFT OUTER JOIN (SELECT DISTINCT cohort_1.u AS u 
FROM cohort_1 JOIN (SELECT DISTINCT user_days_2.u AS u, user_days_2.d AS d 
FROM user_days_2 
WHERE user_days_2.d >= 20484) AS returns_3 ON returns_3.u = cohort_1.u AND returns_3.d >= cohort_1.c + 30 AND returns_3.d <= cohort_1.c + 30) AS kept_3 ON kept_3.u = cohort_1.u GROUP BY cohort_1.p;
