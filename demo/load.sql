-- Fills the demo schema with generated, deterministic sample data: 3 tenants, 60 users,
-- 600 conversations and a few thousand messages, some carrying (fake) PII and secrets.
SELECT setseed(0.42) AS seeded \gset

-- Completes a digit string with its Luhn check digit, so generated card numbers are valid.
CREATE FUNCTION demo.luhn_complete(digits text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT digits || ((10 - (sum(d) % 10)) % 10)::text
    FROM (SELECT CASE WHEN (length(digits) - i) % 2 = 0
                      THEN (CASE WHEN 2 * n > 9 THEN 2 * n - 9 ELSE 2 * n END)
                      ELSE n END AS d
            FROM (SELECT i, substr(digits, i, 1)::int AS n
                    FROM generate_series(1, length(digits)) AS i) s) t
$$;

CREATE FUNCTION demo.digits(n int) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT string_agg((floor(random() * 10))::int::text, '') FROM generate_series(1, n)
$$;

CREATE FUNCTION demo.pick(variadic options text[]) RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT options[1 + floor(random() * array_length(options, 1))::int]
$$;

INSERT INTO demo.tenants VALUES
  ('acme', 'Acme Corp', 'US'),
  ('globex', 'Globex GmbH', 'EU'),
  ('initech', 'Initech Ltd', 'EU');

INSERT INTO demo.users (tenant_id, email, full_name)
SELECT t.tenant_id,
       lower(f) || '.' || lower(l) || i || '@' || t.tenant_id || '.example',
       f || ' ' || l
  FROM demo.tenants t,
       generate_series(1, 20) AS i,
       LATERAL (SELECT demo.pick('Ana', 'Ben', 'Chloe', 'Dev', 'Eva', 'Farid', 'Grace', 'Hugo') AS f,
                       demo.pick('Martin', 'Novak', 'Okafor', 'Patel', 'Quinn', 'Rossi') AS l,
                       i AS j) n;

INSERT INTO demo.conversations (tenant_id, user_id, title, created_at)
SELECT u.tenant_id, u.user_id,
       demo.pick('Billing question', 'Deploy failing', 'Refund request', 'SQL help', 'Login issue'),
       now() - (random() * interval '120 days')
  FROM demo.users u, generate_series(1, 10);

-- Message bodies: mostly ordinary text, a share with PII or secrets a user might paste.
INSERT INTO demo.messages (conversation_id, tenant_id, role, body, created_at)
SELECT c.conversation_id, c.tenant_id,
       CASE WHEN k % 2 = 0 THEN 'assistant' ELSE 'user' END,
       CASE WHEN k % 2 = 0 THEN demo.pick(
              'Thanks, I can help with that. Could you share the error message?',
              'The query scans the whole table; an index on (tenant_id, created_at) would help.',
              'I have opened a ticket for the billing team; they reply within a day.')
            ELSE CASE floor(random() * 8)::int
              WHEN 0 THEN 'Please call me back at +1 415 555 ' || demo.digits(4) || ' after 5pm.'
              WHEN 1 THEN 'My card ' || demo.luhn_complete('4' || demo.digits(14)) || ' was charged twice.'
              WHEN 2 THEN 'You can reach me at ' || lower(demo.pick('ana', 'ben', 'eva')) || demo.digits(3) || '@mail.example.com'
              WHEN 3 THEN 'The job fails with postgresql://app:' || md5(random()::text) || '@db.internal:5432/prod'
              WHEN 4 THEN 'Our server 10.0.' || floor(random() * 255)::int || '.' || floor(random() * 255)::int || ' times out.'
              WHEN 5 THEN 'Order ' || demo.digits(10) || ' has not shipped yet.'
              ELSE demo.pick('Why is my dashboard empty since Monday?',
                             'How do I export last month''s report?',
                             'The assistant answered in the wrong language.')
            END
       END,
       c.created_at + k * interval '1 minute'
  FROM demo.conversations c, generate_series(1, 6) AS k;
