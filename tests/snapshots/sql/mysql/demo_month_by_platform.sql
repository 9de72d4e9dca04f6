-- Northstar: the demo metric pack (config/metrics.yaml, 14 sourced metrics), grain month, by platform,
-- 2026-01-01 .. 2026-03-31 in Europe/Berlin, compiled for mysql. Values are shown inline; at run time they are bound parameters.
SET STATEMENT max_heap_table_size=67108864, tmp_table_size=67108864 FOR WITH agg_1 AS 
(SELECT rows_1.p AS p, rows_1.g AS g, count(rows_1.f0) AS n_f0, count(rows_1.f1) AS n_f1, count(rows_1.f2) AS n_f2, count(rows_1.f3) AS n_f3, sum(rows_1.x2) AS a_x2, count(DISTINCT rows_1.x3) AS a_x3 
FROM (SELECT CAST((EXTRACT(year FROM convert_tz(events.ts, '+00:00', 'Europe/Berlin')) * 12 + EXTRACT(month FROM convert_tz(events.ts, '+00:00', 'Europe/Berlin'))) - 1 AS SIGNED INTEGER) AS p, events.platform AS g, CASE WHEN (events.event = 'signup') THEN 1 END AS f0, CASE WHEN (events.event = 'upgrade') THEN 1 END AS f1, CASE WHEN (events.event = 'purchase') THEN 1 END AS f2, CASE WHEN (events.event = 'page_view') THEN 1 END AS f3, CASE WHEN (events.event = 'purchase') THEN events.amount END AS x2, CASE WHEN (events.event = 'purchase') THEN events.user_id END AS x3, CASE WHEN (events.event = 'page_view') THEN events.load_ms END AS x4 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND (events.event = 'signup' OR events.event = 'upgrade' OR events.event = 'purchase' OR events.event = 'page_view')) AS rows_1 GROUP BY rows_1.p, rows_1.g), 
user_days_1 AS 
(SELECT DISTINCT active_rows_1.u AS u, active_rows_1.d AS d, active_rows_1.g AS g 
FROM (SELECT events.user_id AS u, datediff(convert_tz(events.ts, '+00:00', 'Europe/Berlin'), '1970-01-01') AS d, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-25 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'create_note') AS active_rows_1), 
lagged_1 AS 
(SELECT user_days_1.g AS g, user_days_1.d AS d, lag(user_days_1.d) OVER (PARTITION BY user_days_1.u, user_days_1.g ORDER BY user_days_1.d) AS prev 
FROM user_days_1), 
user_days_2 AS 
(SELECT DISTINCT active_rows_2.u AS u, active_rows_2.d AS d, active_rows_2.g AS g 
FROM (SELECT events.user_id AS u, datediff(convert_tz(events.ts, '+00:00', 'Europe/Berlin'), '1970-01-01') AS d, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-04 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'session_start') AS active_rows_2), 
lagged_2 AS 
(SELECT user_days_2.g AS g, user_days_2.d AS d, lag(user_days_2.d) OVER (PARTITION BY user_days_2.u, user_days_2.g ORDER BY user_days_2.d) AS prev 
FROM user_days_2), 
user_days_3 AS 
(SELECT DISTINCT active_rows_3.u AS u, active_rows_3.d AS d, active_rows_3.g AS g 
FROM (SELECT events.user_id AS u, datediff(convert_tz(events.ts, '+00:00', 'Europe/Berlin'), '1970-01-01') AS d, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-25 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'use_ai_summary') AS active_rows_3), 
lagged_3 AS 
(SELECT user_days_3.g AS g, user_days_3.d AS d, lag(user_days_3.d) OVER (PARTITION BY user_days_3.u, user_days_3.g ORDER BY user_days_3.d) AS prev 
FROM user_days_3), 
cohort_1 AS 
(SELECT cohort_days_1.u AS u, cohort_days_1.c AS c, cohort_days_1.p AS p, cohort_days_1.g AS g 
FROM (SELECT firsts_1.u AS u, datediff(convert_tz(firsts_1.t, '+00:00', 'Europe/Berlin'), '1970-01-01') AS c, CAST((EXTRACT(year FROM convert_tz(firsts_1.t, '+00:00', 'Europe/Berlin')) * 12 + EXTRACT(month FROM convert_tz(firsts_1.t, '+00:00', 'Europe/Berlin'))) - 1 AS SIGNED INTEGER) AS p, firsts_1.g AS g 
FROM (SELECT cohort_ranked_1.u AS u, cohort_ranked_1.t AS t, cohort_ranked_1.g AS g 
FROM (SELECT cohort_events_1.u AS u, cohort_events_1.t AS t, cohort_events_1.g AS g, row_number() OVER (PARTITION BY cohort_events_1.u ORDER BY cohort_events_1.t, CASE WHEN (cohort_events_1.g IS NULL) THEN 0 ELSE 1 END, cohort_events_1.g) AS rn 
FROM (SELECT events.user_id AS u, events.ts AS t, events.platform AS g 
FROM events 
WHERE events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event = 'signup') AS cohort_events_1) AS cohort_ranked_1 
WHERE cohort_ranked_1.rn = 1) AS firsts_1) AS cohort_days_1 
WHERE cohort_days_1.c >= 20454)
 SELECT 'signups' AS metric, agg_1.p AS p, agg_1.g AS g, CAST(agg_1.n_f0 AS SIGNED INTEGER) AS n, agg_1.n_f0 * 1e0 AS v, NULL * 1e0 AS w 
FROM agg_1 
WHERE agg_1.n_f0 > 0 UNION ALL SELECT 'paid_conversions' AS metric, agg_1.p AS p, agg_1.g AS g, CAST(agg_1.n_f1 AS SIGNED INTEGER) AS n, agg_1.n_f1 * 1e0 AS v, NULL * 1e0 AS w 
FROM agg_1 
WHERE agg_1.n_f1 > 0 UNION ALL SELECT 'revenue' AS metric, agg_1.p AS p, agg_1.g AS g, CAST(agg_1.n_f2 AS SIGNED INTEGER) AS n, agg_1.a_x2 * 1e0 AS v, NULL * 1e0 AS w 
FROM agg_1 
WHERE agg_1.n_f2 > 0 UNION ALL SELECT 'paying_users' AS metric, agg_1.p AS p, agg_1.g AS g, CAST(agg_1.n_f2 AS SIGNED INTEGER) AS n, agg_1.a_x3 * 1e0 AS v, NULL * 1e0 AS w 
FROM agg_1 
WHERE agg_1.n_f2 > 0 UNION ALL SELECT 'p90_page_load' AS metric, agg_1.p AS p, agg_1.g AS g, CAST(agg_1.n_f3 AS SIGNED INTEGER) AS n, NULL * 1e0 AS v, NULL * 1e0 AS w 
FROM agg_1 
WHERE agg_1.n_f3 > 0 UNION ALL SELECT 'p90_page_load:pct' AS metric, pct_ranked_1.p AS p, pct_ranked_1.g AS g, CAST(max(pct_ranked_1.cnt) AS SIGNED INTEGER) AS n, min(CASE WHEN (pct_ranked_1.rn = floor((pct_ranked_1.cnt - 1) * 0.9)) THEN pct_ranked_1.x END) * 1e0 AS v, min(CASE WHEN (pct_ranked_1.rn = floor((pct_ranked_1.cnt - 1) * 0.9) + 1) THEN pct_ranked_1.x END) * 1e0 AS w 
FROM (SELECT pct_rows_1.p AS p, pct_rows_1.g AS g, pct_rows_1.x AS x, row_number() OVER (PARTITION BY pct_rows_1.p, pct_rows_1.g ORDER BY pct_rows_1.x) - 1 AS rn, count(*) OVER (PARTITION BY pct_rows_1.p, pct_rows_1.g) AS cnt 
FROM (SELECT CAST((EXTRACT(year FROM convert_tz(events.ts, '+00:00', 'Europe/Berlin')) * 12 + EXTRACT(month FROM convert_tz(events.ts, '+00:00', 'Europe/Berlin'))) - 1 AS SIGNED INTEGER) AS p, events.load_ms AS x, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.load_ms IS NOT NULL AND events.event = 'page_view') AS pct_rows_1) AS pct_ranked_1 GROUP BY pct_ranked_1.p, pct_ranked_1.g UNION ALL SELECT 'weekly_active_writers' AS metric, per_day_1.x AS p, per_day_1.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, sum(per_day_1.s) OVER (PARTITION BY per_day_1.g ORDER BY per_day_1.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) * 1e0 AS v, NULL * 1e0 AS w 
FROM (SELECT deltas_1.g AS g, deltas_1.x AS x, sum(deltas_1.delta) AS s 
FROM (SELECT lagged_1.g AS g, CASE WHEN (lagged_1.prev IS NULL OR lagged_1.prev + 7 <= lagged_1.d) THEN lagged_1.d ELSE lagged_1.prev + 7 END AS x, 1 AS delta 
FROM lagged_1 UNION ALL SELECT lagged_1.g AS g, lagged_1.d + 7 AS x, -1 AS delta 
FROM lagged_1) AS deltas_1 
WHERE deltas_1.x <= 20543 GROUP BY deltas_1.g, deltas_1.x) AS per_day_1 UNION ALL SELECT 'weekly_active_writers:groups' AS metric, 0 AS p, user_days_1.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, NULL * 1e0 AS v, NULL * 1e0 AS w 
FROM user_days_1 
WHERE user_days_1.d >= 20448 GROUP BY user_days_1.g UNION ALL SELECT 'dau' AS metric, per_day_2.x AS p, per_day_2.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, sum(per_day_2.s) OVER (PARTITION BY per_day_2.g ORDER BY per_day_2.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) * 1e0 AS v, NULL * 1e0 AS w 
FROM (SELECT deltas_2.g AS g, deltas_2.x AS x, sum(deltas_2.delta) AS s 
FROM (SELECT lagged_2.g AS g, CASE WHEN (lagged_2.prev IS NULL OR lagged_2.prev + 1 <= lagged_2.d) THEN lagged_2.d ELSE lagged_2.prev + 1 END AS x, 1 AS delta 
FROM lagged_2 UNION ALL SELECT lagged_2.g AS g, lagged_2.d + 1 AS x, -1 AS delta 
FROM lagged_2) AS deltas_2 
WHERE deltas_2.x <= 20543 GROUP BY deltas_2.g, deltas_2.x) AS per_day_2 UNION ALL SELECT 'dau:groups' AS metric, 0 AS p, user_days_2.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, NULL * 1e0 AS v, NULL * 1e0 AS w 
FROM user_days_2 
WHERE user_days_2.d >= 20454 GROUP BY user_days_2.g UNION ALL SELECT 'wau' AS metric, per_day_3.x AS p, per_day_3.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, sum(per_day_3.s) OVER (PARTITION BY per_day_3.g ORDER BY per_day_3.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) * 1e0 AS v, NULL * 1e0 AS w 
FROM (SELECT deltas_3.g AS g, deltas_3.x AS x, sum(deltas_3.delta) AS s 
FROM (SELECT lagged_2.g AS g, CASE WHEN (lagged_2.prev IS NULL OR lagged_2.prev + 7 <= lagged_2.d) THEN lagged_2.d ELSE lagged_2.prev + 7 END AS x, 1 AS delta 
FROM lagged_2 UNION ALL SELECT lagged_2.g AS g, lagged_2.d + 7 AS x, -1 AS delta 
FROM lagged_2) AS deltas_3 
WHERE deltas_3.x <= 20543 GROUP BY deltas_3.g, deltas_3.x) AS per_day_3 UNION ALL SELECT 'wau:groups' AS metric, 0 AS p, user_days_2.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, NULL * 1e0 AS v, NULL * 1e0 AS w 
FROM user_days_2 
WHERE user_days_2.d >= 20448 GROUP BY user_days_2.g UNION ALL SELECT 'mau' AS metric, per_day_4.x AS p, per_day_4.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, sum(per_day_4.s) OVER (PARTITION BY per_day_4.g ORDER BY per_day_4.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) * 1e0 AS v, NULL * 1e0 AS w 
FROM (SELECT deltas_4.g AS g, deltas_4.x AS x, sum(deltas_4.delta) AS s 
FROM (SELECT lagged_2.g AS g, CASE WHEN (lagged_2.prev IS NULL OR lagged_2.prev + 28 <= lagged_2.d) THEN lagged_2.d ELSE lagged_2.prev + 28 END AS x, 1 AS delta 
FROM lagged_2 UNION ALL SELECT lagged_2.g AS g, lagged_2.d + 28 AS x, -1 AS delta 
FROM lagged_2) AS deltas_4 
WHERE deltas_4.x <= 20543 GROUP BY deltas_4.g, deltas_4.x) AS per_day_4 UNION ALL SELECT 'mau:groups' AS metric, 0 AS p, user_days_2.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, NULL * 1e0 AS v, NULL * 1e0 AS w 
FROM user_days_2 
WHERE user_days_2.d >= 20427 GROUP BY user_days_2.g UNION ALL SELECT 'ai_summary_users' AS metric, per_day_5.x AS p, per_day_5.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, sum(per_day_5.s) OVER (PARTITION BY per_day_5.g ORDER BY per_day_5.x ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) * 1e0 AS v, NULL * 1e0 AS w 
FROM (SELECT deltas_5.g AS g, deltas_5.x AS x, sum(deltas_5.delta) AS s 
FROM (SELECT lagged_3.g AS g, CASE WHEN (lagged_3.prev IS NULL OR lagged_3.prev + 7 <= lagged_3.d) THEN lagged_3.d ELSE lagged_3.prev + 7 END AS x, 1 AS delta 
FROM lagged_3 UNION ALL SELECT lagged_3.g AS g, lagged_3.d + 7 AS x, -1 AS delta 
FROM lagged_3) AS deltas_5 
WHERE deltas_5.x <= 20543 GROUP BY deltas_5.g, deltas_5.x) AS per_day_5 UNION ALL SELECT 'ai_summary_users:groups' AS metric, 0 AS p, user_days_3.g AS g, CAST(NULL AS SIGNED INTEGER) AS n, NULL * 1e0 AS v, NULL * 1e0 AS w 
FROM user_days_3 
WHERE user_days_3.d >= 20448 GROUP BY user_days_3.g UNION ALL SELECT 'activation' AS metric, funnel_counted_1.p AS p, funnel_counted_1.g AS g, CAST(sum(funnel_counted_1.n) AS SIGNED INTEGER) AS n, sum(funnel_counted_1.v) * 1e0 AS v, NULL * 1e0 AS w 
FROM (SELECT funnel_entrants_1.p AS p, funnel_entrants_1.g AS g, 1 AS n, 0 AS v 
FROM (SELECT funnel_ranked_1.u AS u, funnel_ranked_1.t AS t, funnel_ranked_1.g AS g, funnel_ranked_1.p AS p 
FROM (SELECT funnel_periods_1.u AS u, funnel_periods_1.t AS t, funnel_periods_1.g AS g, funnel_periods_1.p AS p, row_number() OVER (PARTITION BY funnel_periods_1.u, funnel_periods_1.p ORDER BY funnel_periods_1.t, CASE WHEN (funnel_periods_1.g IS NULL) THEN 0 ELSE 1 END, funnel_periods_1.g) AS rn 
FROM (SELECT funnel_firsts_1.u AS u, funnel_firsts_1.t AS t, funnel_firsts_1.g AS g, CAST((EXTRACT(year FROM convert_tz(funnel_firsts_1.t, '+00:00', 'Europe/Berlin')) * 12 + EXTRACT(month FROM convert_tz(funnel_firsts_1.t, '+00:00', 'Europe/Berlin'))) - 1 AS SIGNED INTEGER) AS p 
FROM (SELECT events.user_id AS u, events.ts AS t, 0 AS k, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('signup')) AS funnel_firsts_1) AS funnel_periods_1) AS funnel_ranked_1 
WHERE funnel_ranked_1.rn = 1) AS funnel_entrants_1 UNION ALL SELECT funnel_chain_3.p AS p, funnel_chain_3.g AS g, 0 AS n, 1 AS v 
FROM (SELECT funnel_pass_3.u AS u, funnel_pass_3.reached AS t, funnel_pass_3.t0 AS t0, funnel_pass_3.p AS p, funnel_pass_3.g AS g 
FROM (SELECT funnel_counts_3.u AS u, funnel_counts_3.t AS t, funnel_counts_3.k AS k, funnel_counts_3.t0 AS t0, funnel_counts_3.p AS p, funnel_counts_3.g AS g, max(funnel_counts_3.v_reached) OVER (PARTITION BY funnel_counts_3.u, funnel_counts_3.n_reached) AS reached 
FROM (SELECT funnel_step_3.u AS u, funnel_step_3.t AS t, funnel_step_3.k AS k, funnel_step_3.t0 AS t0, funnel_step_3.p AS p, funnel_step_3.g AS g, CASE WHEN (funnel_step_3.k = 3) THEN funnel_step_3.t END AS v_reached, count(CASE WHEN (funnel_step_3.k = 3) THEN funnel_step_3.t END) OVER (PARTITION BY funnel_step_3.u ORDER BY funnel_step_3.t DESC, CASE WHEN (funnel_step_3.k = -1) THEN 1 WHEN (funnel_step_3.k = 4) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n_reached 
FROM (SELECT funnel_chain_2.u AS u, funnel_chain_2.t AS t, -1 AS k, funnel_chain_2.t0 AS t0, funnel_chain_2.p AS p, funnel_chain_2.g AS g 
FROM (SELECT funnel_pass_2.u AS u, funnel_pass_2.reached AS t, funnel_pass_2.t0 AS t0, funnel_pass_2.p AS p, funnel_pass_2.g AS g 
FROM (SELECT funnel_counts_2.u AS u, funnel_counts_2.t AS t, funnel_counts_2.k AS k, funnel_counts_2.t0 AS t0, funnel_counts_2.p AS p, funnel_counts_2.g AS g, max(funnel_counts_2.v_reached) OVER (PARTITION BY funnel_counts_2.u, funnel_counts_2.n_reached) AS reached 
FROM (SELECT funnel_step_2.u AS u, funnel_step_2.t AS t, funnel_step_2.k AS k, funnel_step_2.t0 AS t0, funnel_step_2.p AS p, funnel_step_2.g AS g, CASE WHEN (funnel_step_2.k = 2) THEN funnel_step_2.t END AS v_reached, count(CASE WHEN (funnel_step_2.k = 2) THEN funnel_step_2.t END) OVER (PARTITION BY funnel_step_2.u ORDER BY funnel_step_2.t DESC, CASE WHEN (funnel_step_2.k = -1) THEN 1 WHEN (funnel_step_2.k = 4) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n_reached 
FROM (SELECT funnel_chain_1.u AS u, funnel_chain_1.t AS t, -1 AS k, funnel_chain_1.t0 AS t0, funnel_chain_1.p AS p, funnel_chain_1.g AS g 
FROM (SELECT funnel_pass_1.u AS u, funnel_pass_1.reached AS t, funnel_pass_1.t0 AS t0, funnel_pass_1.p AS p, funnel_pass_1.g AS g 
FROM (SELECT funnel_counts_1.u AS u, funnel_counts_1.t AS t, funnel_counts_1.k AS k, funnel_counts_1.t0 AS t0, funnel_counts_1.p AS p, funnel_counts_1.g AS g, max(funnel_counts_1.v_reached) OVER (PARTITION BY funnel_counts_1.u, funnel_counts_1.n_reached) AS reached 
FROM (SELECT funnel_step_1.u AS u, funnel_step_1.t AS t, funnel_step_1.k AS k, funnel_step_1.t0 AS t0, funnel_step_1.p AS p, funnel_step_1.g AS g, CASE WHEN (funnel_step_1.k = 1) THEN funnel_step_1.t END AS v_reached, count(CASE WHEN (funnel_step_1.k = 1) THEN funnel_step_1.t END) OVER (PARTITION BY funnel_step_1.u ORDER BY funnel_step_1.t DESC, CASE WHEN (funnel_step_1.k = -1) THEN 1 WHEN (funnel_step_1.k = 4) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS n_reached 
FROM (SELECT funnel_entrants_1.u AS u, funnel_entrants_1.t AS t, -1 AS k, funnel_entrants_1.t AS t0, funnel_entrants_1.p AS p, funnel_entrants_1.g AS g 
FROM (SELECT funnel_ranked_1.u AS u, funnel_ranked_1.t AS t, funnel_ranked_1.g AS g, funnel_ranked_1.p AS p 
FROM (SELECT funnel_periods_1.u AS u, funnel_periods_1.t AS t, funnel_periods_1.g AS g, funnel_periods_1.p AS p, row_number() OVER (PARTITION BY funnel_periods_1.u, funnel_periods_1.p ORDER BY funnel_periods_1.t, CASE WHEN (funnel_periods_1.g IS NULL) THEN 0 ELSE 1 END, funnel_periods_1.g) AS rn 
FROM (SELECT funnel_firsts_1.u AS u, funnel_firsts_1.t AS t, funnel_firsts_1.g AS g, CAST((EXTRACT(year FROM convert_tz(funnel_firsts_1.t, '+00:00', 'Europe/Berlin')) * 12 + EXTRACT(month FROM convert_tz(funnel_firsts_1.t, '+00:00', 'Europe/Berlin'))) - 1 AS SIGNED INTEGER) AS p 
FROM (SELECT events.user_id AS u, events.ts AS t, 0 AS k, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('signup')) AS funnel_firsts_1) AS funnel_periods_1) AS funnel_ranked_1 
WHERE funnel_ranked_1.rn = 1) AS funnel_entrants_1 UNION ALL SELECT funnel_events_1.u AS u, funnel_events_1.t AS t, funnel_events_1.k AS k, funnel_events_1.t AS t0, 0 AS p, funnel_events_1.g AS g 
FROM (SELECT events.user_id AS u, events.ts AS t, 1 AS k, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('create_note')) AS funnel_events_1) AS funnel_step_1) AS funnel_counts_1) AS funnel_pass_1 
WHERE funnel_pass_1.k = -1 AND funnel_pass_1.reached < timestampadd(MICROSECOND, 604800000000, funnel_pass_1.t0)) AS funnel_chain_1 UNION ALL SELECT funnel_events_2.u AS u, funnel_events_2.t AS t, funnel_events_2.k AS k, funnel_events_2.t AS t0, 0 AS p, funnel_events_2.g AS g 
FROM (SELECT events.user_id AS u, events.ts AS t, 2 AS k, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('create_project')) AS funnel_events_2) AS funnel_step_2) AS funnel_counts_2) AS funnel_pass_2 
WHERE funnel_pass_2.k = -1 AND funnel_pass_2.reached < timestampadd(MICROSECOND, 604800000000, funnel_pass_2.t0)) AS funnel_chain_2 UNION ALL SELECT funnel_events_3.u AS u, funnel_events_3.t AS t, funnel_events_3.k AS k, funnel_events_3.t AS t0, 0 AS p, funnel_events_3.g AS g 
FROM (SELECT events.user_id AS u, events.ts AS t, 3 AS k, events.platform AS g 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('invite_teammate')) AS funnel_events_3) AS funnel_step_3) AS funnel_counts_3) AS funnel_pass_3 
WHERE funnel_pass_3.k = -1 AND funnel_pass_3.reached < timestampadd(MICROSECOND, 604800000000, funnel_pass_3.t0)) AS funnel_chain_3) AS funnel_counted_1 GROUP BY funnel_counted_1.p, funnel_counted_1.g UNION ALL SELECT 'd1_retention' AS metric, cohort_1.p AS p, cohort_1.g AS g, CAST(count(*) AS SIGNED INTEGER) AS n, count(kept_1.u) * 1e0 AS v, NULL * 1e0 AS w 
FROM cohort_1 LEFT OUTER JOIN (SELECT DISTINCT cohort_1.u AS u 
FROM cohort_1 INNER JOIN (SELECT DISTINCT user_days_2.u AS u, user_days_2.d AS d 
FROM user_days_2 
WHERE user_days_2.d >= 20455) AS returns_1 ON returns_1.u = cohort_1.u AND returns_1.d >= cohort_1.c + 1 AND returns_1.d <= cohort_1.c + 1) AS kept_1 ON kept_1.u = cohort_1.u GROUP BY cohort_1.p, cohort_1.g UNION ALL SELECT 'd7_retention' AS metric, cohort_1.p AS p, cohort_1.g AS g, CAST(count(*) AS SIGNED INTEGER) AS n, count(kept_2.u) * 1e0 AS v, NULL * 1e0 AS w 
FROM cohort_1 LEFT OUTER JOIN (SELECT DISTINCT cohort_1.u AS u 
FROM cohort_1 INNER JOIN (SELECT DISTINCT user_days_2.u AS u, user_days_2.d AS d 
FROM user_days_2 
WHERE user_days_2.d >= 20461) AS returns_2 ON returns_2.u = cohort_1.u AND returns_2.d >= cohort_1.c + 7 AND returns_2.d <= cohort_1.c + 7) AS kept_2 ON kept_2.u = cohort_1.u GROUP BY cohort_1.p, cohort_1.g UNION ALL SELECT 'd30_retention' AS metric, cohort_1.p AS p, cohort_1.g AS g, CAST(count(*) AS SIGNED INTEGER) AS n, count(kept_3.u) * 1e0 AS v, NULL * 1e0 AS w 
FROM cohort_1 LEFT OUTER JOIN (SELECT DISTINCT cohort_1.u AS u 
FROM cohort_1 INNER JOIN (SELECT DISTINCT user_days_2.u AS u, user_days_2.d AS d 
FROM user_days_2 
WHERE user_days_2.d >= 20484) AS returns_3 ON returns_3.u = cohort_1.u AND returns_3.d >= cohort_1.c + 30 AND returns_3.d <= cohort_1.c + 30) AS kept_3 ON kept_3.u = cohort_1.u GROUP BY cohort_1.p, cohort_1.g;
