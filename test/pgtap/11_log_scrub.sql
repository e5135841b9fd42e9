-- Server-log scrubbing, read back from the server log itself: a failed INSERT that carried a
-- card number and a password leaves neither in the log, in the message, detail or statement.
-- Needs the test cluster's logging_collector (log/postgresql.log); not wrapped in a transaction.
\set QUIET 1
SELECT 'scrubmark' || translate(md5(random()::text), '0123456789', 'ghijklmnop') AS marker \gset
CREATE TEMP TABLE scrub_t (note text CHECK (length(note) < 10));

-- Waits until the marker shows up in the server log (the collector writes asynchronously) and
-- returns the log from the marker's first appearance on.
CREATE FUNCTION pg_temp.log_after(marker text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE l text; p int;
BEGIN
  FOR i IN 1..100 LOOP
    l := pg_read_file(pg_current_logfile());
    p := position(marker IN l);
    IF p > 0 THEN
      PERFORM pg_sleep(0.2);  -- let the rest of the entry (DETAIL, STATEMENT lines) arrive
      RETURN substr(pg_read_file(pg_current_logfile()), p);
    END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
  RETURN NULL;
END $$;

SELECT plan(6);
SELECT ok(current_setting('privacy.scrub_server_log')::boolean, 'scrubbing is on by default');

\set ON_ERROR_STOP 0
INSERT INTO scrub_t VALUES ('ref ' || :'marker' || ' card 4111 1111 1111 1111 password=Zq8#vLp2mX9');
\set ON_ERROR_STOP 1

SELECT isnt(pg_temp.log_after(:'marker'), NULL, 'the failed statement reached the server log');
SELECT unalike(pg_temp.log_after(:'marker'), '%4111 1111 1111 1111%', 'the card number is not in the log');
SELECT unalike(pg_temp.log_after(:'marker'), '%Zq8#vLp2mX9%', 'the password is not in the log');
SELECT alike(pg_temp.log_after(:'marker'), '%[CREDIT_CARD_REDACTED]%', 'the log marks where the card was');
SELECT alike(pg_temp.log_after(:'marker'), '%STATEMENT:%INSERT INTO scrub_t%', 'the statement is logged, scrubbed');

SELECT * FROM finish();
