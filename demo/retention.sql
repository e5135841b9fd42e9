-- Demo, retention: conversations are deleted after their tenant's period (US 7 days, EU 30
-- days, a contract's 90 days), batch by batch, with their messages; held ones are kept.
\echo '--- keep periods are data, not code: US 7 days, EU 30 days, and initech''s contract says 90 days'
INSERT INTO privacy.region_retention VALUES ('US', '7 days'), ('EU', '30 days');
INSERT INTO privacy.tenants (tenant_id, region) SELECT tenant_id, region FROM demo.tenants;
UPDATE privacy.tenants SET retention = '90 days' WHERE tenant_id = 'initech';

\echo '--- conversations expire by created_at; their messages follow through the ON DELETE CASCADE foreign key'
ALTER TABLE demo.conversations ADD COLUMN legal_hold boolean NOT NULL DEFAULT false;
CREATE INDEX ON demo.conversations (tenant_id, created_at);
SELECT privacy.set_retention('demo.conversations', 'created_at', '60 days', tenant_column => 'tenant_id',
                             hold_column => 'legal_hold', batch_size => 100, subject_column => 'user_id');
SELECT tenant_id, region, keep, keep_source FROM privacy.retention ORDER BY tenant_id NULLS LAST;

\echo '--- legal holds: one globex conversation past its 30 days, and everything of one acme user (a subject)'
UPDATE demo.conversations SET legal_hold = true
 WHERE conversation_id = (SELECT conversation_id FROM demo.conversations
                           WHERE tenant_id = 'globex' AND created_at < now() - interval '40 days'
                           ORDER BY created_at DESC LIMIT 1)
RETURNING conversation_id AS held_conversation \gset
SELECT min(user_id) AS held_user FROM demo.users WHERE tenant_id = 'acme' \gset
SELECT privacy.place_hold('acme', :'held_user', 'litigation: ticket 4711') AS hold_id;

\echo '--- before: conversations per tenant and age'
SELECT tenant_id,
       count(*) FILTER (WHERE created_at >= now() - interval '7 days') AS "under 7 days",
       count(*) FILTER (WHERE created_at < now() - interval '7 days' AND created_at >= now() - interval '30 days') AS "7 to 30 days",
       count(*) FILTER (WHERE created_at < now() - interval '30 days' AND created_at >= now() - interval '90 days') AS "30 to 90 days",
       count(*) FILTER (WHERE created_at < now() - interval '90 days') AS "over 90 days",
       (SELECT count(*) FROM demo.messages m WHERE m.tenant_id = c.tenant_id) AS messages
  FROM demo.conversations c GROUP BY tenant_id ORDER BY tenant_id;

\echo '--- dry run: what a purge would delete now, and what holds keep'
SELECT tenant_id, keep, rows_expired, rows_held FROM privacy.purge_preview() ORDER BY tenant_id NULLS LAST;

\echo '--- CALL privacy.purge(): commits after every batch of 100 (pg_cron and the background worker run the same purge)'
CALL privacy.purge();

\echo '--- after: acme keeps 7 days, globex 30, initech 90; the held user and the held conversation stay'
SELECT tenant_id, count(*) AS conversations,
       round(extract(epoch FROM now() - min(created_at)) / 86400) AS "oldest (days)",
       round(extract(epoch FROM now() - min(created_at) FILTER (WHERE NOT legal_hold AND (tenant_id <> 'acme' OR user_id <> :held_user))) / 86400)
         AS "oldest unheld (days)",
       (SELECT count(*) FROM demo.messages m WHERE m.tenant_id = c.tenant_id) AS messages
  FROM demo.conversations c GROUP BY tenant_id ORDER BY tenant_id;
SELECT conversation_id = :held_conversation AS held_conversation_kept,
       (SELECT count(*) FROM demo.messages m WHERE m.conversation_id = c.conversation_id) AS its_messages
  FROM demo.conversations c WHERE conversation_id = :held_conversation;
SELECT count(*) AS messages_orphaned FROM demo.messages m
 WHERE NOT EXISTS (SELECT FROM demo.conversations c WHERE c.conversation_id = m.conversation_id);

\echo '--- the history: one run per table and tenant, with counts only'
SELECT table_name, tenant_id, rows_deleted, status FROM privacy.purge_runs ORDER BY tenant_id;

\echo '--- scheduling: in the cron database (cron.database_name), once:'
\echo '    SELECT cron.schedule_in_database(''privacy-purge'', ''*/5 * * * *'', ''CALL privacy.purge()'', ''pgp_demo'');'
\echo '--- or let the background worker do it: privacy.databases = ''pgp_demo'', privacy.naptime = 60'
