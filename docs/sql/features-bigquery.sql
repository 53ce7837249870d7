-- persona-lab sql features (bigquery): one row per user with Persona Lab's profile features.
-- Half-life 14 days, reference the last event, sessions from the column ga_session_id.
WITH e AS (
  SELECT
    CAST(`user_pseudo_id` AS STRING) AS u,
    CAST(`event_timestamp` AS INT64) AS t,
    CAST(`event_name` AS STRING) AS ev,
    TRIM(REGEXP_REPLACE(LOWER(CAST(`event_name` AS STRING)), r'[^\p{L}\p{N}]+', '_'), '_') AS evn,
    CAST(`ga_session_id` AS STRING) AS s,
    CAST(`value` AS FLOAT64) AS val,
    CAST(`engagement_time_msec` AS FLOAT64) / CAST('1000.0' AS FLOAT64) AS dur,
    CAST(`percent_scrolled` AS FLOAT64) AS scr
  FROM events
  WHERE `user_pseudo_id` IS NOT NULL AND `event_timestamp` IS NOT NULL AND `event_name` IS NOT NULL AND lower(trim(CAST(`consent` AS STRING))) IN ('1', 'true', 'yes', 'y', 'granted', 'opt_in', 'opt-in', 'optin', 'allowed', 'accepted')
),
r AS (SELECT MAX(t) AS ref FROM e),
f AS (SELECT * FROM e),
p AS (SELECT TRUE AS purchase_only),
a AS (
  SELECT
    u,
    CAST(COUNT(*) AS FLOAT64) AS events,
    CAST(COUNT(DISTINCT CAST(FLOOR(CAST(t AS FLOAT64) / CAST('86400000000.0' AS FLOAT64)) AS INT64)) AS FLOAT64) AS active_days,
    MIN(t) AS first_t,
    MAX(t) AS last_t,
    SUM(EXP((CAST(r.ref AS FLOAT64) - CAST(t AS FLOAT64)) / CAST('86400000000.0' AS FLOAT64) * CAST('-0.049510512897138946' AS FLOAT64))) AS decayed_events,
    CAST(COUNT(DISTINCT s) AS FLOAT64) AS sessions_raw,
    COALESCE(SUM(dur), CAST('0.0' AS FLOAT64)) AS time_total,
    CASE WHEN COUNT(scr) > 0 THEN SUM(scr) / CAST(COUNT(scr) AS FLOAT64) END AS scroll_mean,
    MAX(scr) AS scroll_max,
    CAST(SUM(CASE WHEN evn IN ('page_view', 'pageview', 'page_viewed', 'page', 'screen_view', 'screen', 'viewed_page', 'loaded_a_page', 'view_page', 'mp_page_view', 'mp_web_page_view', 'amplitude_page_viewed') THEN 1 ELSE 0 END) AS FLOAT64) AS page_views,
    CAST(SUM(CASE WHEN evn IN ('view_item', 'product_viewed', 'view_product', 'product_view', 'viewed_product', 'product_detail_view', 'item_viewed', 'view_item_details') THEN 1 ELSE 0 END) AS FLOAT64) AS product_views,
    CAST(SUM(CASE WHEN evn IN ('add_to_cart', 'product_added', 'added_to_cart', 'addtocart', 'add_cart', 'cart_add', 'add_to_bag', 'added_to_bag') THEN 1 ELSE 0 END) AS FLOAT64) AS cart_adds,
    CAST(SUM(CASE WHEN evn IN ('purchase', 'order_completed', 'checkout_completed', 'completed_order', 'transaction', 'order_placed', 'purchase_completed', 'completed_purchase') THEN 1 ELSE 0 END) AS FLOAT64) AS purchases,
    CAST(SUM(CASE WHEN evn IN ('search', 'view_search_results', 'products_searched', 'search_performed', 'searched', 'site_search', 'product_search') THEN 1 ELSE 0 END) AS FLOAT64) AS searches,
    CAST(SUM(CASE WHEN evn IN ('video_start', 'video_play', 'video_playback_started', 'play_video', 'video_started', 'video_played') THEN 1 ELSE 0 END) AS FLOAT64) AS video_plays,
    COALESCE(SUM(CASE WHEN NOT p.purchase_only OR evn IN ('purchase', 'order_completed', 'checkout_completed', 'completed_order', 'transaction', 'order_placed', 'purchase_completed', 'completed_purchase') THEN val END), CAST('0.0' AS FLOAT64)) AS revenue,
    CAST(SUM(CASE WHEN ev = 'view_item' THEN 1 ELSE 0 END) AS FLOAT64) AS n0
  FROM f CROSS JOIN r CROSS JOIN p
  GROUP BY u
),
b AS (
  SELECT a.*, r.ref, CASE WHEN sessions_raw < 1 THEN CAST('1.0' AS FLOAT64) ELSE sessions_raw END AS sessions
  FROM a CROSS JOIN r
)
SELECT
  u AS `user_id`,
  events AS `events`,
  sessions AS `sessions`,
  active_days AS `active_days`,
  events / sessions AS `events_per_session`,
  time_total AS `time_total`,
  time_total / sessions AS `time_per_session`,
  scroll_mean AS `scroll_mean`,
  scroll_max AS `scroll_max`,
  (CAST(ref AS FLOAT64) - CAST(last_t AS FLOAT64)) / CAST('86400000000.0' AS FLOAT64) AS `recency_days`,
  (CAST(ref AS FLOAT64) - CAST(first_t AS FLOAT64)) / CAST('86400000000.0' AS FLOAT64) AS `tenure_days`,
  sessions / GREATEST((CAST(ref AS FLOAT64) - CAST(first_t AS FLOAT64)) / CAST('86400000000.0' AS FLOAT64) / CAST('7.0' AS FLOAT64), CAST('1.0' AS FLOAT64)) AS `frequency`,
  page_views AS `page_views`,
  page_views / sessions AS `page_views_per_session`,
  product_views AS `product_views`,
  product_views / sessions AS `product_views_per_session`,
  cart_adds AS `cart_adds`,
  cart_adds / sessions AS `cart_adds_per_session`,
  purchases AS `purchases`,
  searches AS `searches`,
  searches / sessions AS `searches_per_session`,
  video_plays AS `video_plays`,
  video_plays / sessions AS `video_plays_per_session`,
  CASE WHEN product_views > 0 THEN cart_adds / product_views END AS `add_to_cart_rate`,
  purchases / sessions AS `conversion_rate`,
  revenue AS `revenue`,
  CASE WHEN purchases > 0 THEN revenue / purchases END AS `avg_order_value`,
  decayed_events AS `decayed_events`,
  n0 AS `count:view_item`,
  events - (n0) AS `count:other`
FROM b
