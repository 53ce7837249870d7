-- persona-lab sql assign (spark): the rule set created 2026-11-30T12:00:00Z, content 89e161c15ae865cdc3b7a55703793ca552aedc508037492931dac91e0351e61d.
-- 4 segments by nearest centroid over 5 features; 2 model(s). LN(1 + x) stands for log1p.
WITH x AS (
  SELECT
    CAST(`user_id` AS STRING) AS user_id,
    CAST('1.0' AS DOUBLE) * (((LN(CAST('1.0' AS DOUBLE) + GREATEST(COALESCE(CASE WHEN isnan(CAST(`sessions` AS DOUBLE)) OR abs(CAST(`sessions` AS DOUBLE)) = CAST('Infinity' AS DOUBLE) THEN NULL ELSE CAST(`sessions` AS DOUBLE) END, CAST('0.0' AS DOUBLE)), CAST('0.0' AS DOUBLE)))) - CAST('0.0' AS DOUBLE)) / CAST('1.0' AS DOUBLE)) AS v0 /* sessions */,
    CAST('2.0' AS DOUBLE) * (((COALESCE(CASE WHEN isnan(CAST(`recency_days` AS DOUBLE)) OR abs(CAST(`recency_days` AS DOUBLE)) = CAST('Infinity' AS DOUBLE) THEN NULL ELSE CAST(`recency_days` AS DOUBLE) END, CAST('12.5' AS DOUBLE))) - CAST('20.0' AS DOUBLE)) / CAST('15.0' AS DOUBLE)) AS v1 /* recency_days */,
    CAST('1.5' AS DOUBLE) * (((LN(CAST('1.0' AS DOUBLE) + GREATEST(COALESCE(CASE WHEN isnan(CAST(`revenue` AS DOUBLE)) OR abs(CAST(`revenue` AS DOUBLE)) = CAST('Infinity' AS DOUBLE) THEN NULL ELSE CAST(`revenue` AS DOUBLE) END, CAST('0.0' AS DOUBLE)), CAST('0.0' AS DOUBLE)))) - CAST('0.0' AS DOUBLE)) / CAST('2.5' AS DOUBLE)) AS v2 /* revenue */,
    CAST('1.0' AS DOUBLE) * (((COALESCE(CASE WHEN isnan(CAST(`product_views_per_session` AS DOUBLE)) OR abs(CAST(`product_views_per_session` AS DOUBLE)) = CAST('Infinity' AS DOUBLE) THEN NULL ELSE CAST(`product_views_per_session` AS DOUBLE) END, CAST('0.0' AS DOUBLE))) - CAST('3.0' AS DOUBLE)) / CAST('2.0' AS DOUBLE)) AS v3 /* product_views_per_session */,
    CAST('0.5' AS DOUBLE) * (((COALESCE(CASE WHEN isnan(CAST(`scroll_mean` AS DOUBLE)) OR abs(CAST(`scroll_mean` AS DOUBLE)) = CAST('Infinity' AS DOUBLE) THEN NULL ELSE CAST(`scroll_mean` AS DOUBLE) END, CAST('40.0' AS DOUBLE))) - CAST('45.0' AS DOUBLE)) / CAST('20.0' AS DOUBLE)) AS v4 /* scroll_mean */,
    ((COALESCE(CASE WHEN isnan(CAST(`recency_days` AS DOUBLE)) OR abs(CAST(`recency_days` AS DOUBLE)) = CAST('Infinity' AS DOUBLE) THEN NULL ELSE CAST(`recency_days` AS DOUBLE) END, CAST('12.5' AS DOUBLE))) - CAST('20.0' AS DOUBLE)) / CAST('15.0' AS DOUBLE) AS m0_0 /* churn_risk: recency_days */,
    ((LN(CAST('1.0' AS DOUBLE) + GREATEST(COALESCE(CASE WHEN isnan(CAST(`sessions` AS DOUBLE)) OR abs(CAST(`sessions` AS DOUBLE)) = CAST('Infinity' AS DOUBLE) THEN NULL ELSE CAST(`sessions` AS DOUBLE) END, CAST('0.0' AS DOUBLE)), CAST('0.0' AS DOUBLE)))) - CAST('1.0' AS DOUBLE)) / CAST('0.7' AS DOUBLE) AS m0_1 /* churn_risk: sessions */,
    ((COALESCE(CASE WHEN isnan(CAST(`product_views_per_session` AS DOUBLE)) OR abs(CAST(`product_views_per_session` AS DOUBLE)) = CAST('Infinity' AS DOUBLE) THEN NULL ELSE CAST(`product_views_per_session` AS DOUBLE) END, CAST('0.0' AS DOUBLE))) - CAST('3.0' AS DOUBLE)) / CAST('2.0' AS DOUBLE) AS m1_0 /* conversion_score: product_views_per_session */,
    ((LN(CAST('1.0' AS DOUBLE) + GREATEST(COALESCE(CASE WHEN isnan(CAST(`cart_adds` AS DOUBLE)) OR abs(CAST(`cart_adds` AS DOUBLE)) = CAST('Infinity' AS DOUBLE) THEN NULL ELSE CAST(`cart_adds` AS DOUBLE) END, CAST('0.0' AS DOUBLE)), CAST('0.0' AS DOUBLE)))) - CAST('0.5' AS DOUBLE)) / CAST('0.9' AS DOUBLE) AS m1_1 /* conversion_score: cart_adds */
  FROM profiles
),
d AS (
  SELECT
    *,
    ((((v0 - CAST('1.0' AS DOUBLE)) * (v0 - CAST('1.0' AS DOUBLE))) + ((v1 - CAST('-0.8' AS DOUBLE)) * (v1 - CAST('-0.8' AS DOUBLE)))) + (((v2 - CAST('1.2' AS DOUBLE)) * (v2 - CAST('1.2' AS DOUBLE))) + ((v3 - CAST('0.9' AS DOUBLE)) * (v3 - CAST('0.9' AS DOUBLE))))) + ((v4 - CAST('0.4' AS DOUBLE)) * (v4 - CAST('0.4' AS DOUBLE))) AS d0,
    ((((v0 - CAST('-1.0' AS DOUBLE)) * (v0 - CAST('-1.0' AS DOUBLE))) + ((v1 - CAST('1.5' AS DOUBLE)) * (v1 - CAST('1.5' AS DOUBLE)))) + (((v2 - CAST('-0.9' AS DOUBLE)) * (v2 - CAST('-0.9' AS DOUBLE))) + ((v3 - CAST('-0.6' AS DOUBLE)) * (v3 - CAST('-0.6' AS DOUBLE))))) + ((v4 - CAST('-0.3' AS DOUBLE)) * (v4 - CAST('-0.3' AS DOUBLE))) AS d1,
    ((((v0 - CAST('0.2' AS DOUBLE)) * (v0 - CAST('0.2' AS DOUBLE))) + ((v1 - CAST('-0.3' AS DOUBLE)) * (v1 - CAST('-0.3' AS DOUBLE)))) + (((v2 - CAST('-0.5' AS DOUBLE)) * (v2 - CAST('-0.5' AS DOUBLE))) + ((v3 - CAST('1.4' AS DOUBLE)) * (v3 - CAST('1.4' AS DOUBLE))))) + ((v4 - CAST('0.8' AS DOUBLE)) * (v4 - CAST('0.8' AS DOUBLE))) AS d2,
    ((((v0 - CAST('-0.2' AS DOUBLE)) * (v0 - CAST('-0.2' AS DOUBLE))) + ((v1 - CAST('0.3' AS DOUBLE)) * (v1 - CAST('0.3' AS DOUBLE)))) + (((v2 - CAST('0.5' AS DOUBLE)) * (v2 - CAST('0.5' AS DOUBLE))) + ((v3 - CAST('-1.4' AS DOUBLE)) * (v3 - CAST('-1.4' AS DOUBLE))))) + ((v4 - CAST('-0.8' AS DOUBLE)) * (v4 - CAST('-0.8' AS DOUBLE))) AS d3,
    CAST('1.0' AS DOUBLE) / (CAST('1.0' AS DOUBLE) + EXP(-(CAST('-0.4' AS DOUBLE) + (CAST('1.3' AS DOUBLE) * m0_0 + CAST('-0.9' AS DOUBLE) * m0_1)))) AS `churn_risk`,
    (CASE WHEN m1_0 <= CAST('0.5' AS DOUBLE) THEN CAST('0.1' AS DOUBLE) ELSE CASE WHEN m1_1 <= CAST('-0.2' AS DOUBLE) THEN CAST('0.35' AS DOUBLE) ELSE CAST('0.8' AS DOUBLE) END END + CASE WHEN m1_1 <= CAST('0.0' AS DOUBLE) THEN CAST('0.2' AS DOUBLE) ELSE CAST('0.65' AS DOUBLE) END) / CAST('2.0' AS DOUBLE) AS `conversion_score`
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
  CASE WHEN `churn_risk` >= CAST('0.7' AS DOUBLE) THEN 'high' WHEN `churn_risk` >= CAST('0.3' AS DOUBLE) THEN 'medium' ELSE 'low' END AS `churn_risk_band`,
  `conversion_score`,
  CASE WHEN `conversion_score` >= CAST('0.6' AS DOUBLE) THEN 'high' WHEN `conversion_score` >= CAST('0.3' AS DOUBLE) THEN 'medium' ELSE 'low' END AS `conversion_score_band`
FROM s
