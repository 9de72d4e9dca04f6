-- Northstar: funnel shapes (tests/test_sql_snapshots.py FUNNEL_SHAPES, 3 sourced metrics), grain week, by -,
-- 2026-01-01 .. 2026-03-31 in Europe/Berlin, compiled for postgresql. Values are shown inline; at run time they are bound parameters.
WITH funnel_entrants_1 AS 
(SELECT funnel_ranked_1.u AS u, funnel_ranked_1.t AS t, funnel_ranked_1.p AS p 
FROM (SELECT funnel_periods_1.u AS u, funnel_periods_1.t AS t, funnel_periods_1.p AS p, row_number() OVER (PARTITION BY funnel_periods_1.u, funnel_periods_1.p ORDER BY funnel_periods_1.t) AS rn 
FROM (SELECT funnel_firsts_1.u AS u, funnel_firsts_1.t AS t, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', funnel_firsts_1.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) - (CAST(CAST(timezone('Europe/Berlin', timezone('UTC', funnel_firsts_1.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) + 700003) % 7 AS p 
FROM (SELECT events.user_id COLLATE "C" AS u, events.ts AS t, 0 AS k 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('signup')) AS funnel_firsts_1) AS funnel_periods_1) AS funnel_ranked_1 
WHERE funnel_ranked_1.rn = 1), 
funnel_entrants_2 AS 
(SELECT funnel_ranked_2.u AS u, funnel_ranked_2.t AS t, funnel_ranked_2.p AS p 
FROM (SELECT funnel_periods_2.u AS u, funnel_periods_2.t AS t, funnel_periods_2.p AS p, row_number() OVER (PARTITION BY funnel_periods_2.u, funnel_periods_2.p ORDER BY funnel_periods_2.t) AS rn 
FROM (SELECT funnel_firsts_2.u AS u, funnel_firsts_2.t AS t, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', funnel_firsts_2.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) - (CAST(CAST(timezone('Europe/Berlin', timezone('UTC', funnel_firsts_2.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) + 700003) % 7 AS p 
FROM (SELECT events.user_id COLLATE "C" AS u, events.ts AS t, 0 AS k 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('signup')) AS funnel_firsts_2) AS funnel_periods_2) AS funnel_ranked_2 
WHERE funnel_ranked_2.rn = 1), 
funnel_chain_1 AS 
(SELECT funnel_pass_2.u AS u, funnel_pass_2.reached AS t, funnel_pass_2.t0 AS t0, funnel_pass_2.p AS p, funnel_pass_2.x_next AS x 
FROM (SELECT funnel_step_1.u AS u, funnel_step_1.t AS t, funnel_step_1.k AS k, funnel_step_1.t0 AS t0, funnel_step_1.p AS p, funnel_step_1.x AS x, min(CASE WHEN (funnel_step_1.k = 1) THEN funnel_step_1.t END) OVER (PARTITION BY funnel_step_1.u ORDER BY funnel_step_1.t DESC, CASE WHEN (funnel_step_1.k = -1) THEN 1 WHEN (funnel_step_1.k = 3) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS reached, min(CASE WHEN (funnel_step_1.k = 3) THEN funnel_step_1.t END) OVER (PARTITION BY funnel_step_1.u ORDER BY funnel_step_1.t DESC, CASE WHEN (funnel_step_1.k = -1) THEN 1 WHEN (funnel_step_1.k = 3) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS x_next 
FROM (SELECT funnel_entrants_2.u AS u, funnel_entrants_2.t AS t, -1 AS k, funnel_entrants_2.t AS t0, funnel_entrants_2.p AS p, funnel_entrants_2.t AS x 
FROM funnel_entrants_2 UNION ALL SELECT funnel_events_2.u AS u, funnel_events_2.t AS t, funnel_events_2.k AS k, funnel_events_2.t AS t0, 0 AS p, funnel_events_2.t AS x 
FROM (SELECT events.user_id COLLATE "C" AS u, events.ts AS t, CASE WHEN (events.event = 'signup') THEN 0 WHEN (events.event = 'create_note') THEN 1 WHEN (events.event = 'create_project') THEN 2 ELSE 3 END AS k 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('create_note', 'purchase')) AS funnel_events_2) AS funnel_step_1) AS funnel_pass_2 
WHERE funnel_pass_2.k = -1 AND funnel_pass_2.reached < funnel_pass_2.t0 + make_interval(secs=>604800.0) AND (funnel_pass_2.x_next IS NULL OR funnel_pass_2.reached <= funnel_pass_2.x_next)), 
funnel_chain_2 AS 
(SELECT funnel_pass_3.u AS u, funnel_pass_3.reached AS t, funnel_pass_3.t0 AS t0, funnel_pass_3.p AS p, funnel_pass_3.x AS x 
FROM (SELECT funnel_step_2.u AS u, funnel_step_2.t AS t, funnel_step_2.k AS k, funnel_step_2.t0 AS t0, funnel_step_2.p AS p, funnel_step_2.x AS x, min(CASE WHEN (funnel_step_2.k = 2) THEN funnel_step_2.t END) OVER (PARTITION BY funnel_step_2.u ORDER BY funnel_step_2.t DESC, CASE WHEN (funnel_step_2.k = -1) THEN 1 WHEN (funnel_step_2.k = 3) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS reached 
FROM (SELECT funnel_chain_1.u AS u, funnel_chain_1.t AS t, -1 AS k, funnel_chain_1.t0 AS t0, funnel_chain_1.p AS p, funnel_chain_1.x AS x 
FROM funnel_chain_1 UNION ALL SELECT funnel_events_3.u AS u, funnel_events_3.t AS t, funnel_events_3.k AS k, funnel_events_3.t AS t0, 0 AS p, funnel_events_3.t AS x 
FROM (SELECT events.user_id COLLATE "C" AS u, events.ts AS t, 2 AS k 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('create_project')) AS funnel_events_3) AS funnel_step_2) AS funnel_pass_3 
WHERE funnel_pass_3.k = -1 AND funnel_pass_3.reached < funnel_pass_3.t0 + make_interval(secs=>604800.0) AND (funnel_pass_3.x IS NULL OR funnel_pass_3.reached <= funnel_pass_3.x)), 
funnel_entrants_3 AS 
(SELECT funnel_ranked_3.u AS u, funnel_ranked_3.t AS t, funnel_ranked_3.p AS p 
FROM (SELECT funnel_periods_3.u AS u, funnel_periods_3.t AS t, funnel_periods_3.p AS p, row_number() OVER (PARTITION BY funnel_periods_3.u, funnel_periods_3.p ORDER BY funnel_periods_3.t) AS rn 
FROM (SELECT funnel_firsts_3.u AS u, funnel_firsts_3.t AS t, CAST(CAST(timezone('Europe/Berlin', timezone('UTC', funnel_firsts_3.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) - (CAST(CAST(timezone('Europe/Berlin', timezone('UTC', funnel_firsts_3.t)) AS DATE) - CAST('1970-01-01' AS DATE) AS INTEGER) + 700003) % 7 AS p 
FROM (SELECT events.user_id COLLATE "C" AS u, events.ts AS t, 0 AS k 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('signup')) AS funnel_firsts_3) AS funnel_periods_3) AS funnel_ranked_3 
WHERE funnel_ranked_3.rn = 1)
 SELECT 'any_order' AS metric, funnel_counted_1.p AS p, CAST(sum(funnel_counted_1.n) AS BIGINT) AS n, CAST(sum(funnel_counted_1.v) AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM (SELECT funnel_entrants_1.p AS p, 1 AS n, 0 AS v 
FROM funnel_entrants_1 UNION ALL SELECT funnel_pass_1.p AS p, 0 AS n, 1 AS v 
FROM (SELECT funnel_steps_1.u AS u, funnel_steps_1.t AS t, funnel_steps_1.k AS k, funnel_steps_1.t0 AS t0, funnel_steps_1.p AS p, min(CASE WHEN (funnel_steps_1.k = 1) THEN funnel_steps_1.t END) OVER (PARTITION BY funnel_steps_1.u ORDER BY funnel_steps_1.t DESC, CASE WHEN (funnel_steps_1.k = -1) THEN 1 WHEN (funnel_steps_1.k = 3) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s2, min(CASE WHEN (funnel_steps_1.k = 2) THEN funnel_steps_1.t END) OVER (PARTITION BY funnel_steps_1.u ORDER BY funnel_steps_1.t DESC, CASE WHEN (funnel_steps_1.k = -1) THEN 1 WHEN (funnel_steps_1.k = 3) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s3 
FROM (SELECT funnel_entrants_1.u AS u, funnel_entrants_1.t AS t, -1 AS k, funnel_entrants_1.t AS t0, funnel_entrants_1.p AS p 
FROM funnel_entrants_1 UNION ALL SELECT funnel_events_1.u AS u, funnel_events_1.t AS t, funnel_events_1.k AS k, funnel_events_1.t AS t0, 0 AS p 
FROM (SELECT events.user_id COLLATE "C" AS u, events.ts AS t, CASE WHEN (events.event = 'signup') THEN 0 WHEN (events.event = 'create_note') THEN 1 WHEN (events.event = 'create_project') THEN 2 ELSE 3 END AS k 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('create_note', 'create_project')) AS funnel_events_1) AS funnel_steps_1) AS funnel_pass_1 
WHERE funnel_pass_1.k = -1 AND funnel_pass_1.s2 < funnel_pass_1.t0 + make_interval(secs=>604800.0) AND funnel_pass_1.s3 < funnel_pass_1.t0 + make_interval(secs=>604800.0)) AS funnel_counted_1 GROUP BY funnel_counted_1.p UNION ALL SELECT 'strict_exclude' AS metric, funnel_counted_2.p AS p, CAST(sum(funnel_counted_2.n) AS BIGINT) AS n, CAST(sum(funnel_counted_2.v) AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM (SELECT funnel_entrants_2.p AS p, 1 AS n, 0 AS v 
FROM funnel_entrants_2 UNION ALL SELECT funnel_chain_2.p AS p, 0 AS n, 1 AS v 
FROM funnel_chain_2) AS funnel_counted_2 GROUP BY funnel_counted_2.p UNION ALL SELECT 'any_exclude' AS metric, funnel_counted_3.p AS p, CAST(sum(funnel_counted_3.n) AS BIGINT) AS n, CAST(sum(funnel_counted_3.v) AS DOUBLE PRECISION) AS v, CAST(NULL AS DOUBLE PRECISION) AS w 
FROM (SELECT funnel_entrants_3.p AS p, 1 AS n, 0 AS v 
FROM funnel_entrants_3 UNION ALL SELECT funnel_pass_4.p AS p, 0 AS n, 1 AS v 
FROM (SELECT funnel_steps_2.u AS u, funnel_steps_2.t AS t, funnel_steps_2.k AS k, funnel_steps_2.t0 AS t0, funnel_steps_2.p AS p, funnel_steps_2.x AS x, min(CASE WHEN (funnel_steps_2.k = 1) THEN funnel_steps_2.t END) OVER (PARTITION BY funnel_steps_2.u ORDER BY funnel_steps_2.t DESC, CASE WHEN (funnel_steps_2.k = -1) THEN 1 WHEN (funnel_steps_2.k = 3) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s2, min(CASE WHEN (funnel_steps_2.k = 2) THEN funnel_steps_2.t END) OVER (PARTITION BY funnel_steps_2.u ORDER BY funnel_steps_2.t DESC, CASE WHEN (funnel_steps_2.k = -1) THEN 1 WHEN (funnel_steps_2.k = 3) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS s3, min(CASE WHEN (funnel_steps_2.k = 3) THEN funnel_steps_2.t END) OVER (PARTITION BY funnel_steps_2.u ORDER BY funnel_steps_2.t DESC, CASE WHEN (funnel_steps_2.k = -1) THEN 1 WHEN (funnel_steps_2.k = 3) THEN 2 ELSE 0 END ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS x_next 
FROM (SELECT funnel_entrants_3.u AS u, funnel_entrants_3.t AS t, -1 AS k, funnel_entrants_3.t AS t0, funnel_entrants_3.p AS p, funnel_entrants_3.t AS x 
FROM funnel_entrants_3 UNION ALL SELECT funnel_events_4.u AS u, funnel_events_4.t AS t, funnel_events_4.k AS k, funnel_events_4.t AS t0, 0 AS p, funnel_events_4.t AS x 
FROM (SELECT events.user_id COLLATE "C" AS u, events.ts AS t, CASE WHEN (events.event = 'signup') THEN 0 WHEN (events.event = 'create_note') THEN 1 WHEN (events.event = 'create_project') THEN 2 ELSE 3 END AS k 
FROM events 
WHERE events.ts >= '2025-12-31 23:00:00' AND events.ts < '2026-03-31 22:00:00' AND events.user_id IS NOT NULL AND events.event IN ('create_note', 'create_project', 'purchase', 'page_view')) AS funnel_events_4) AS funnel_steps_2) AS funnel_pass_4 
WHERE funnel_pass_4.k = -1 AND funnel_pass_4.s2 < funnel_pass_4.t0 + make_interval(secs=>604800.0) AND funnel_pass_4.s3 < funnel_pass_4.t0 + make_interval(secs=>604800.0) AND (funnel_pass_4.x_next IS NULL OR funnel_pass_4.s2 <= funnel_pass_4.x_next AND funnel_pass_4.s3 <= funnel_pass_4.x_next)) AS funnel_counted_3 GROUP BY funnel_counted_3.p;
