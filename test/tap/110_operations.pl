# Operations a DBA can trust, at the edges a SQL suite cannot reach: the worker's state in
# privacy.status; a purge in progress in privacy.progress, cancelled, ending 'cancelled' in
# privacy.history with its open pass interrupted and audited, and the same session's next purge a
# new run; a purge that goes on while the postmaster alone is killed (docs/operations.md); a
# master-key rotation across two databases, interrupted and resumed; a failed erasure's outcome
# kept until the history records it; the warning at the first key created without keyring_dir.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use PgPrivacyTest qw(add_keyring);

my $node = PostgreSQL::Test::Cluster->new('operations');
$node->init;
my $tenants = add_keyring($node);
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_privacy'
privacy.databases = 'postgres'
privacy.naptime = 1
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_privacy;
	CREATE TABLE big (id bigint PRIMARY KEY, created_at timestamptz NOT NULL);
	CREATE INDEX ON big (created_at);
	SELECT privacy.set_retention('big', 'created_at', '1 day', batch_size => 100);
});

# 1. The worker's state, as a DBA reads it first.
ok($node->poll_query_until('postgres',
	q{SELECT status = 'ok' AND detail LIKE '%last round ended%' FROM privacy.status WHERE area = 'worker' AND item = 'postgres'}),
	'privacy.status shows the worker of database postgres and its last round');
is($node->safe_psql('postgres', q{SELECT status || ' ' || value FROM privacy.status WHERE area = 'worker' AND item = 'launcher'}),
	'ok running', 'and the launcher running');
is($node->safe_psql('postgres', q{SELECT status || ' ' || value FROM privacy.status WHERE area = 'purge'}),
	'ok nothing to purge', 'the worker\'s rounds with nothing to purge leave no run, and the status says why');
is($node->safe_psql('postgres', q{SELECT value FROM privacy.metrics() WHERE metric = 'worker_up' AND labels->>'database' = 'postgres'}),
	'1', 'privacy.metrics() has worker_up for the database');
# From here on the worker stays out of the way: one round after the reload, then an hour's nap.
my $reload = $node->safe_psql('postgres', q{SELECT now()});
$node->safe_psql('postgres', q{ALTER SYSTEM SET privacy.naptime = 3600; SELECT pg_reload_conf()});
ok($node->poll_query_until('postgres', qq{SELECT round_ended > '$reload' AND state = 'idle' FROM privacy._worker_rows()
	WHERE database = 'postgres'}), 'after a reload the worker runs a round, then naps');

# 2. A purge in progress, cancelled, then the same session's next purge.
$node->safe_psql('postgres', q{INSERT INTO big SELECT g, now() - interval '2 days' FROM generate_series(1, 100000) g});
my $bg = $node->background_psql('postgres', on_error_stop => 0);
my $bg_pid = $bg->query('SELECT pg_backend_pid()');
$bg->query_until(qr/started/, "\\echo started\nCALL privacy.purge();\n");
ok($node->poll_query_until('postgres', qq{SELECT count(*) = 1 FROM privacy.progress WHERE pid = $bg_pid AND operation = 'purge' AND units_done > 0}),
	'privacy.progress shows the purge while it runs');
is($node->safe_psql('postgres', qq{SELECT phase || '|' || target || '|' || unit || '|' || (run_id IS NOT NULL)
	FROM privacy.progress WHERE pid = $bg_pid}), 'pass 1 of 1|public.big|rows|true',
	'with its pass, its table, its unit and its run');
my $run = $node->safe_psql('postgres', qq{SELECT run_id FROM privacy.progress WHERE pid = $bg_pid});
is($node->safe_psql('postgres', qq{SELECT status FROM privacy.history WHERE run_id = $run}), 'running',
	'privacy.history shows the run as running meanwhile');
$node->safe_psql('postgres', qq{SELECT pg_cancel_backend($bg_pid)});
my ($out, $err) = $bg->query('SELECT 1');
ok($node->poll_query_until('postgres', qq{SELECT status = 'cancelled' FROM privacy.history WHERE run_id = $run}),
	'a cancelled purge ends cancelled in the history, not running');
like($node->safe_psql('postgres', qq{SELECT error FROM privacy.history WHERE run_id = $run}), qr/^57014: canceling statement/,
	'with the cancel as its error');
is($node->safe_psql('postgres', qq{SELECT string_agg(status, ',') FROM privacy.purge_runs WHERE run = $run}), 'interrupted',
	'its open pass is closed as interrupted');
is($node->safe_psql('postgres', qq{SELECT count(*) FROM privacy.audit_queue WHERE kind = 'retention'
	AND (detail->>'run_id')::bigint IN (SELECT run_id FROM privacy.purge_runs WHERE run = $run) AND detail->>'status' = 'interrupted'}),
	'1', 'and gets its retention audit record');
my $deleted = $node->safe_psql('postgres', qq{SELECT counts->>'rows_deleted' FROM privacy.history WHERE run_id = $run});
ok($deleted > 0 && $deleted < 100000, "the cancelled run counts the rows it deleted ($deleted)");
$bg->query('CALL privacy.purge()');
is($node->safe_psql('postgres', qq{SELECT count(*) FROM privacy.history WHERE operation = 'purge' AND run_id > $run}), '1',
	'the same session\'s next purge is a new run')
  or diag($node->safe_psql('postgres', 'SELECT * FROM privacy.history'));
is($node->safe_psql('postgres', qq{SELECT status || ' ' || (counts->>'rows_deleted')::bigint FROM privacy.history
	WHERE operation = 'purge' AND run_id > $run}), 'done ' . (100000 - $deleted),
	'which deletes the rest and ends done');
$bg->quit;

# 3. The postmaster alone is killed while a purge runs: the backend carries on and commits its
# batches until it next waits (for its client, once the CALL is done), then exits.
$node->safe_psql('postgres', q{INSERT INTO big SELECT g, now() - interval '2 days' FROM generate_series(200001, 230000) g});
$bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, "\\echo started\nCALL privacy.purge();\n\\echo finished\n");
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM privacy.progress WHERE operation = 'purge' AND units_done > 0}),
	'a second purge runs');
$run = $node->safe_psql('postgres', q{SELECT run_id FROM privacy.progress WHERE operation = 'purge'});
my @children = split /\n/, $node->safe_psql('postgres', 'SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()');
$node->kill9;
$bg->query_until(qr/finished/, '');
pass('with the postmaster gone, the purge still ran to its end');
$bg->quit;
# The children exit at their next wait; the server can start once they are gone.
for (1 .. 600) {
	last unless grep { kill 0, $_ } @children;
	usleep(100_000);
}
ok($node->start(fail_ok => 1), 'the server starts again once that backend has exited');
is($node->safe_psql('postgres', qq{SELECT status || ' ' || (counts->>'rows_deleted') FROM privacy.history WHERE run_id = $run}),
	'done 30000', 'its run is done, every batch committed');
is($node->safe_psql('postgres', 'SELECT count(*) FROM big'), '0', 'and the table holds no expired row');

# 4. A failed erasure (under a legal hold) is in the history at once, recorded by the next run.
$node->safe_psql('postgres', q{
	CREATE TABLE people (tenant_id text, user_id text);
	SELECT privacy.register_subject_table('people', 'user_id');
	SELECT privacy.place_hold('acme', NULL, 'litigation');
});
(undef, $out, $err) = $node->psql('postgres', q{SELECT privacy.erase_subject('u1', tenant => 'acme')});
like($err, qr/legal hold/, 'erase_subject under a legal hold fails');
is($node->safe_psql('postgres', q{SELECT status || ' ' || (run_id IS NULL) || ' ' || error FROM privacy.history
	WHERE operation = 'erase_subject'}), 'failed true PV803: the subject is under a legal hold',
	'privacy.history shows the failed erasure and its error at once (from shared memory)');
$node->safe_psql('postgres', q{SELECT * FROM privacy.export_subject('u1', tenant => 'acme')});
is($node->safe_psql('postgres', q{SELECT count(*) FROM privacy.operation_runs WHERE operation = 'erase_subject' AND status = 'failed'}),
	'1', 'the next run writes it into privacy.operation_runs');
is($node->safe_psql('postgres', q{SELECT count(*) FROM privacy.history WHERE operation = 'erase_subject'}), '1',
	'and it is shown once');

# 5. Master-key rotation in every database, interrupted and resumed.
$node->safe_psql('postgres', q{CREATE DATABASE other});
$node->safe_psql('other', q{
	CREATE EXTENSION pg_privacy;
	CREATE TABLE vals (e bytea);
	SELECT privacy.set_context('globex', 'u1', scope => 'session');
	INSERT INTO vals SELECT privacy.encrypt('globex value');
	SELECT privacy.register_provider('p', 'openai', 'http://127.0.0.1:9', 'm', 'EU', api_key => 'sk-test-0123456789abcdef');
});
$node->safe_psql('postgres', q{
	CREATE TABLE vals (s text, e bytea);
	SELECT privacy.set_context('acme', 'u1', scope => 'session');
	INSERT INTO vals SELECT 's' || g, privacy.encrypt('value ' || g, 's' || g) FROM generate_series(1, 1500) g;
});
my $keys = $node->safe_psql('postgres', q{SELECT count(*) FROM privacy.tenant_keys WHERE wrapped IS NOT NULL});
my $keyring = $node->basedir . '/keyring';
rename("$keyring/master.key", "$keyring/old.key") or die;
open(my $fh, '>', "$keyring/master.key") or die;
printf $fh "%02x", int(rand(256)) for 1 .. 32;
close $fh;
chmod 0600, "$keyring/master.key";
$node->reload;
(undef, $out, $err) = $node->psql('postgres', qq{\\set VERBOSITY verbose\nSELECT privacy.set_context('acme', 'u1', scope => 'session');
	SELECT privacy.decrypt(e) FROM vals LIMIT 1});
like($err, qr/PV707/, 'under the new master key the old wrapping is refused (PV707)');
is($node->safe_psql('postgres', q{SELECT status || ' ' || value FROM privacy.status WHERE item = 'under another master key'}),
	"warning $keys", 'privacy.status counts the keys still under the old master key');

$bg = $node->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/started/, "\\echo started\nSELECT * FROM privacy.rotate_master_key('$keyring/old.key', batch_size => 1);\n");
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM privacy.progress WHERE operation = 'rotate_master_key' AND datname = 'postgres' AND units_done > 5}),
	'privacy.progress shows the rotation of database postgres');
$node->safe_psql('postgres', q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%rotate_master_key(%'
	AND backend_type = 'client backend' AND pid <> pg_backend_pid()});
$bg->query('SELECT 1');
$bg->quit;
my $partial = $node->safe_psql('postgres', q{SELECT count(*) FROM privacy.tenant_keys
	WHERE wrapped IS NOT NULL AND master_key_id = privacy.master_key_id()});
ok($partial > 0 && $partial < $keys, "the cancelled rotation stopped half-way ($partial of $keys keys), its batches committed");
ok($node->poll_query_until('postgres', q{SELECT status IN ('cancelled', 'interrupted') FROM privacy.history
	WHERE operation = 'rotate_master_key' ORDER BY started_at DESC LIMIT 1}),
	'the interrupted rotation does not stay running in the history');

my $report = $node->safe_psql('postgres', qq{SELECT database || '|' || sum(rewrapped) || '|' || sum(already_current)
	|| '|' || sum(unreadable) || '|' || string_agg(DISTINCT outcome, ',')
	FROM privacy.rotate_master_key('$keyring/old.key') GROUP BY database ORDER BY database});
is($report, "other|0|3|0|done\npostgres|" . ($keys - $partial) . "|$partial|0|done",
	'run again, the rotation goes on (database other was done before database postgres was cut short): the keys done before are counted as current');
is($node->safe_psql('postgres', qq{SELECT string_agg(secret, ',' ORDER BY secret) FROM privacy.rotate_master_key('$keyring/old.key')
	WHERE database = 'other' AND already_current > 0}), 'provider API key,pseudonym key,tenant data key',
	'the report names each kind of secret: tenant data, pseudonym and provider API keys in database other');
is($node->safe_psql('postgres', q{SELECT privacy.set_context('acme', 'u1', scope => 'session');
	SELECT count(*) FROM vals WHERE privacy.decrypt(e) = 'value ' || substr(s, 2)}), "\n1500",
	'every value decrypts again in database postgres');
is($node->safe_psql('other', q{SELECT privacy.set_context('globex', 'u1', scope => 'session');
	SELECT privacy.decrypt(e) FROM vals}), "\nglobex value", 'and in database other');
(undef, $out, $err) = $node->psql('other', qq{\\set VERBOSITY verbose\n} . q{INSERT INTO privacy.tenants (tenant_id, region, ai_opt_in) VALUES ('globex', 'EU', true);
	SELECT privacy.set_context('globex', 'u1', region => 'EU', scope => 'session');
	SELECT privacy.provider_call('p', '{"messages": [{"role": "user", "content": "hi"}]}')});
like($err, qr/PV610/, 'the provider\'s API key unwraps (the call fails at the connection, PV610, not PV707)');
is($node->safe_psql('other', q{SELECT status FROM privacy.history WHERE operation = 'rotate_master_key' ORDER BY run_id DESC LIMIT 1}),
	'done', 'each database records its rotation in its own history');

# 6. Keys created without privacy.keyring_dir: warned at once, not at the shred.
my $bare = PostgreSQL::Test::Cluster->new('no_keyring_dir');
$bare->init;
$bare->append_conf('postgresql.conf', "privacy.keyring_file = '$keyring/master.key'\n");
$bare->start;
$bare->safe_psql('postgres', 'CREATE EXTENSION pg_privacy');
(undef, $out, $err) = $bare->psql('postgres', q{SELECT privacy.set_context('acme', 'u1', scope => 'session');
	SELECT length(privacy.encrypt('x')) > 0});
like($err, qr/WARNING:  privacy.keyring_dir is not set: a tenant's keys were created without a secret file/,
	'the first key creation without privacy.keyring_dir warns');
(undef, $out, $err) = $bare->psql('postgres', q{SELECT privacy.set_context('acme', 'u1', scope => 'session');
	SELECT length(privacy.encrypt('y')) > 0});
unlike($err, qr/WARNING/, 'once: the tenant\'s later encryptions do not');
is($bare->safe_psql('postgres', q{SELECT status || ' ' || value FROM privacy.status WHERE item = 'keyring_dir'}),
	'warning not set', 'privacy.status says it too');
$bare->stop;

$node->stop;
done_testing();
