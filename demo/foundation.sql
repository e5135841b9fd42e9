-- Demo, foundation: what is installed, and how the C++ core reports a failure.
\echo '--- pg_privacy is installed; it reports the libraries it runs with'
SELECT privacy.version(), privacy.preloaded();
\echo '--- sample data: tenants, users, conversations, messages'
SELECT t.tenant_id, t.region,
       (SELECT count(*) FROM demo.users u WHERE u.tenant_id = t.tenant_id) AS users,
       (SELECT count(*) FROM demo.messages m WHERE m.tenant_id = t.tenant_id) AS messages
  FROM demo.tenants t ORDER BY 1;
\echo '--- a few user messages, as the assistant stored them (they carry PII and secrets)'
SELECT message_id, left(body, 90) AS body FROM demo.messages WHERE role = 'user' ORDER BY message_id LIMIT 6;
\echo '--- an error inside the C++ core becomes an ordinary SQL error with a SQLSTATE, and the session goes on'
\set ON_ERROR_STOP 0
SELECT privacy._selftest_raise('core_error');
\set ON_ERROR_STOP 1
SELECT 'session still working' AS status;
