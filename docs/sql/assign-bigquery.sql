-- persona-lab sql assign (bigquery): the rule set created 2026-11-30T12:00:00Z, content 89e161c15ae865cdc3b7a55703793ca552aedc508037492931dac91e0351e61d.
-- 4 segments by nearest centroid over 5 features; 2 model(s). LN(1 + x) stands for log1p.
WITH x AS (
  SELECT
    CAST(`user_id` AS STRING) AS user_id,
    CAST('1.0' AS FLOAT64) * (((LN(CAST('1.0' AS FLOAT64) + GREATEST(COALESCE(CASE WHEN IS_NAN(CAST(`sessions` AS FLOAT64)) OR IS_INF(CAST(`sessions` AS FLOAT64)) THEN NULL ELSE CAST(`sessions` AS FLOAT64) END, CAST('0.0' AS FLOAT64)), CAST('0.0' AS FLOAT64)))) - CAST('0.0' AS FLOAT64)) / CAST('1.0' AS FLOAT64)) AS v0 /* sessions */,
    CAST('2.0' AS FLOAT64) * (((COALESCE(CASE WHEN IS_NAN(CAST(`recency_days` AS FLOAT64)) OR IS_INF(CAST(`recency_days` AS FLOAT64)) THEN NULL ELSE CAST(`recency_days` AS FLOAT64) END, CAST('12.5' AS FLOAT64))) - CAST('20.0' AS FLOAT64)) / CAST('15.0' AS FLOAT64)) AS v1 /* recency_days */,
    CAST('1.5' AS FLOAT64) * (((LN(CAST('1.0' AS FLOAT64) + GREATEST(COALESCE(CASE WHEN IS_NAN(CAST(`revenue` AS FLOAT64)) OR IS_INF(CAST(`revenue` AS FLOAT64)) THEN NULL ELSE CAST(`revenue` AS FLOAT64) END, CAST('0.0' AS FLOAT64)), CAST('0.0' AS FLOAT64)))) - CAST('0.0' AS FLOAT64)) / CAST('2.5' AS FLOAT64)) AS v2 /* revenue */,
    CAST('1.0' AS FLOAT64) * (((COALESCE(CASE WHEN IS_NAN(CAST(`product_views_per_session` AS FLOAT64)) OR IS_INF(CAST(`product_views_per_session` AS FLOAT64)) THEN NULL ELSE CAST(`product_views_per_session` AS FLOAT64) END, CAST('0.0' AS FLOAT64))) - CAST('3.0' AS FLOAT64)) / CAST('2.0' AS FLOAT64)) AS v3 /* product_views_per_session */,
    CAST('0.5' AS FLOAT64) * (((COALESCE(CASE WHEN IS_NAN(CAST(`scroll_mean` AS FLOAT64)) OR IS_INF(CAST(`scroll_mean` AS FLOAT64)) THEN NULL ELSE CAST(`scroll_mean` AS FLOAT64) END, CAST('40.0' AS FLOAT64))) - CAST('45.0' AS FLOAT64)) / CAST('20.0' AS FLOAT64)) AS v4 /* scroll_mean */,
    ((COALESCE(CASE WHEN IS_NAN(CAST(`recency_days` AS FLOAT64)) OR IS_INF(CAST(`recency_days` AS FLOAT64)) THEN NULL ELSE CAST(`recency_days` AS FLOAT64) END, CAST('12.5' AS FLOAT64))) - CAST('20.0' AS FLOAT64)) / CAST('15.0' AS FLOAT64) AS m0_0 /* churn_risk: recency_days */,
    ((LN(CAST('1.0' AS FLOAT64) + GREATEST(COALESCE(CASE WHEN IS_NAN(CAST(`sessions` AS FLOAT64)) OR IS_INF(CAST(`sessions` AS FLOAT64)) THEN NULL ELSE CAST(`sessions` AS FLOAT64) END, CAST('0.0' AS FLOAT64)), CAST('0.0' AS FLOAT64)))) - CAST('1.0' AS FLOAT64)) / CAST('0.7' AS FLOAT64) AS m0_1 /* churn_risk: sessions */,
    ((COALESCE(CASE WHEN IS_NAN(CAST(`product_views_per_session` AS FLOAT64)) OR IS_INF(CAST(`product_views_per_session` AS FLOAT64)) THEN NULL ELSE CAST(`product_views_per_session` AS FLOAT64) END, CAST('0.0' AS FLOAT64))) - CAST('3.0' AS FLOAT64)) / CAST('2.0' AS FLOAT64) AS m1_0 /* conversion_score: product_views_per_session */,
    ((LN(CAST('1.0' AS FLOAT64) + GREATEST(COALESCE(CASE WHEN IS_NAN(CAST(`cart_adds` AS FLOAT64)) OR IS_INF(CAST(`cart_adds` AS FLOAT64)) THEN NULL ELSE CAST(`cart_adds` AS FLOAT64) END, CAST('0.0' AS FLOAT64)), CAST('0.0' AS FLOAT64)))) - CAST('0.5' AS FLOAT64)) / CAST('0.9' AS FLOAT64) AS m1_1 /* conversion_score: cart_adds */
  FROM profiles
),
d AS (
  SELECT
    *,
    ((((v0 - CAST('1.0' AS FLOAT64)) * (v0 - CAST('1.0' AS FLOAT64))) + ((v1 - CAST('-0.8' AS FLOAT64)) * (v1 - CAST('-0.8' AS FLOAT64)))) + (((v2 - CAST('1.2' AS FLOAT64)) * (v2 - CAST('1.2' AS FLOAT64))) + ((v3 - CAST('0.9' AS FLOAT64)) * (v3 - CAST('0.9' AS FLOAT64))))) + ((v4 - CAST('0.4' AS FLOAT64)) * (v4 - CAST('0.4' AS FLOAT64))) AS d0,
    ((((v0 - CAST('-1.0' AS FLOAT64)) * (v0 - CAST('-1.0' AS FLOAT64))) + ((v1 - CAST('1.5' AS FLOAT64)) * (v1 - CAST('1.5' AS FLOAT64)))) + (((v2 - CAST('-0.9' AS FLOAT64)) * (v2 - CAST('-0.9' AS FLOAT64))) + ((v3 - CAST('-0.6' AS FLOAT64)) * (v3 - CAST('-0.6' AS FLOAT64))))) + ((v4 - CAST('-0.3' AS FLOAT64)) * (v4 - CAST('-0.3' AS FLOAT64))) AS d1,
    ((((v0 - CAST('0.2' AS FLOAT64)) * (v0 - CAST('0.2' AS FLOAT64))) + ((v1 - CAST('-0.3' AS FLOAT64)) * (v1 - CAST('-0.3' AS FLOAT64)))) + (((v2 - CAST('-0.5' AS FLOAT64)) * (v2 - CAST('-0.5' AS FLOAT64))) + ((v3 - CAST('1.4' AS FLOAT64)) * (v3 - CAST('1.4' AS FLOAT64))))) + ((v4 - CAST('0.8' AS FLOAT64)) * (v4 - CAST('0.8' AS FLOAT64))) AS d2,
    ((((v0 - CAST('-0.2' AS FLOAT64)) * (v0 - CAST('-0.2' AS FLOAT64))) + ((v1 - CAST('0.3' AS FLOAT64)) * (v1 - CAST('0.3' AS FLOAT64)))) + (((v2 - CAST('0.5' AS FLOAT64)) * (v2 - CAST('0.5' AS FLOAT64))) + ((v3 - CAST('-1.4' AS FLOAT64)) * (v3 - CAST('-1.4' AS FLOAT64))))) + ((v4 - CAST('-0.8' AS FLOAT64)) * (v4 - CAST('-0.8' AS FLOAT64))) AS d3,
    CAST('1.0' AS FLOAT64) / (CAST('1.0' AS FLOAT64) + EXP(-(CAST('-0.4' AS FLOAT64) + (CAST('1.3' AS FLOAT64) * m0_0 + CAST('-0.9' AS FLOAT64) * m0_1)))) AS `churn_risk`,
    (CASE WHEN m1_0 <= CAST('0.5' AS FLOAT64) THEN CAST('0.1' AS FLOAT64) ELSE CASE WHEN m1_1 <= CAST('-0.2' AS FLOAT64) THEN CAST('0.35' AS FLOAT64) ELSE CAST('0.8' AS FLOAT64) END END + CASE WHEN m1_1 <= CAST('0.0' AS FLOAT64) THEN CAST('0.2' AS FLOAT64) ELSE CAST('0.65' AS FLOAT64) END) / CAST('2.0' AS FLOAT64) AS `conversion_score`
  FROM x
),
s AS (
  SELECT *, CASE WHEN d0 <= d1 AND d0 <= d2 AND d0 <= d3 THEN 0 WHEN d1 <= d2 AND d1 <= d3 THEN 1 WHEN d2 <= d3 THEN 2 ELSE 3 END AS segment
  FROM d
)
SELECT
  user_id AS `user_id`,
  segment AS `segment`,
  CASE segment WHEN 0 THEN 'segment_0' WHEN 1 THEN 'segment_1' WHEN 2 THEN 'segment_2' WHEN 3 THEN 'segment_3' END AS `persona`,
  CASE segment WHEN 0 THEN 'High-Value Engagers' WHEN 1 THEN 'Lapsed visitors' WHEN 2 THEN 'Browsers' WHEN 3 THEN 'Fans of {rule}' END AS `persona_name`,
  `churn_risk`,
  CASE WHEN `churn_risk` >= CAST('0.7' AS FLOAT64) THEN 'high' WHEN `churn_risk` >= CAST('0.3' AS FLOAT64) THEN 'medium' ELSE 'low' END AS `churn_risk_band`,
  `conversion_score`,
  CASE WHEN `conversion_score` >= CAST('0.6' AS FLOAT64) THEN 'high' WHEN `conversion_score` >= CAST('0.3' AS FLOAT64) THEN 'medium' ELSE 'low' END AS `conversion_score_band`
FROM s
