# The retention background worker: it purges on its own within a naptime; reloads on SIGHUP and
# exits cleanly on SIGTERM; after kill -9 of the worker, and of the postmaster, in the middle of a
# purge, the restarted server completes the purge and no unexpired or held row is lost; on a
# streaming standby it waits, and once promoted it purges.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('retention_primary');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_privacy'
privacy.databases = 'postgres'
privacy.naptime = 1
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_privacy;
	INSERT INTO privacy.region_retention VALUES ('US', '7 days');
	INSERT INTO privacy.tenants (tenant_id, region) VALUES ('acme', 'US');
	CREATE TABLE msgs (id bigserial PRIMARY KEY, tenant_id text NOT NULL, held boolean NOT NULL DEFAULT false,
	                   created_at timestamptz NOT NULL, kind text NOT NULL);
	CREATE INDEX ON msgs (tenant_id, created_at);
	SELECT privacy.set_retention('msgs', 'created_at', '30 days', 'tenant_id', 'held', 20);
});

my $worker_sql = q{SELECT pid FROM pg_stat_activity
  WHERE backend_type = 'pg_privacy retention worker' AND datname = 'postgres'};
sub count_kind {
	my ($n, $kind) = @_;
	return $n->safe_psql('postgres', "SELECT count(*) FROM msgs WHERE kind = '$kind'");
}
# Adds $n expired rows of $kind for acme and the unexpired and held rows that must survive.
sub load {
	my ($kind, $n) = @_;
	$node->safe_psql('postgres', qq{
		INSERT INTO msgs (tenant_id, created_at, kind)
		SELECT CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'stray' END, now() - interval '40 days' - i * interval '1 second', '$kind'
		  FROM generate_series(1, $n) i;
		INSERT INTO msgs (tenant_id, created_at, kind) SELECT 'acme', now() - interval '6 days', 'fresh' FROM generate_series(1, 100);
		INSERT INTO msgs (tenant_id, created_at, kind) SELECT 'stray', now() - interval '29 days', 'fresh' FROM generate_series(1, 100);
		INSERT INTO msgs (tenant_id, held, created_at, kind) SELECT 'acme', true, now() - interval '400 days', 'held' FROM generate_series(1, 50);
	});
}
# Waits until the worker has committed some batches of a purge that is not finished.
sub wait_mid_purge {
	my ($kind) = @_;
	for (1 .. 600) {
		my $r = $node->safe_psql('postgres', qq{
			SELECT coalesce(sum(rows_deleted), 0) > 0 AND (SELECT count(*) > 0 FROM msgs WHERE kind = '$kind')
			  FROM privacy.purge_runs WHERE status = 'running'});
		return 1 if $r eq 't';
		usleep(20_000);
	}
	return 0;
}

# 1. On its own, within a naptime.
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker_sql) w"),
	'the launcher starts one worker for the listed database');
my $t0 = time;
load('expired', 40);
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM msgs WHERE kind = 'expired'"),
	'the worker purges expired rows on its own');
cmp_ok(time - $t0, '<', 10, 'within a few naptimes (privacy.naptime = 1s)');
is(count_kind($node, 'fresh'), '200', 'unexpired rows are kept (US 7 days, table 30 days)');
is(count_kind($node, 'held'), '50', 'held rows are kept');
like(slurp_file($node->logfile), qr/pg_privacy retention: database "postgres": 40 rows deleted/,
	'the worker logs counts, never values');

# 2. SIGHUP: the list of databases is reloaded; SIGTERM: a clean exit, and the launcher restarts it.
$node->safe_psql('postgres', "ALTER SYSTEM SET privacy.databases = ''; SELECT pg_reload_conf();");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM ($worker_sql) w"),
	'on SIGHUP a worker whose database is no longer listed stops');
$node->safe_psql('postgres', "ALTER SYSTEM RESET privacy.databases; SELECT pg_reload_conf();");
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker_sql) w"),
	'listed again, it is started again');
my $pid = $node->safe_psql('postgres', $worker_sql);
kill 'TERM', $pid;
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker_sql) w WHERE pid <> $pid"),
	'after SIGTERM the launcher starts a new worker');
unlike(slurp_file($node->logfile), qr/\(PID $pid\) exited with exit code 1/, 'SIGTERM is a clean exit');

# 3. kill -9 of the worker in the middle of a purge.
load('bulk_worker', 20000);
ok(wait_mid_purge('bulk_worker'), 'the worker is in the middle of a purge');
$pid = $node->safe_psql('postgres', $worker_sql);
kill 'KILL', $pid;
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM msgs WHERE kind = 'bulk_worker'"),
	'after kill -9 of the worker and crash recovery, the purge completes');
like(slurp_file($node->logfile), qr/\(PID $pid\) was terminated by signal 9/, 'the worker was killed');
is(count_kind($node, 'fresh'), '400', 'no unexpired row was lost');
is(count_kind($node, 'held'), '100', 'no held row was lost');
ok($node->poll_query_until('postgres', "SELECT count(*) > 0 FROM privacy.purge_runs WHERE status = 'interrupted'"),
	'the cut-short run is marked interrupted');

# 4. kill -9 of the postmaster in the middle of a purge.
load('bulk_server', 20000);
ok(wait_mid_purge('bulk_server'), 'the worker is in the middle of a purge');
my @children = split /\n/, $node->safe_psql('postgres', 'SELECT pid FROM pg_stat_activity WHERE pid <> pg_backend_pid()');
$node->kill9;
# Children notice the postmaster's death at their next wait; start once they are gone.
for (1 .. 600) {
	last unless grep { kill 0, $_ } @children;
	usleep(100_000);
}
ok($node->start(fail_ok => 1), 'the server starts again after kill -9 of the postmaster');
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM msgs WHERE kind = 'bulk_server'"),
	'the restarted worker completes the purge');
is(count_kind($node, 'fresh'), '600', 'no unexpired row was lost');
is(count_kind($node, 'held'), '150', 'no held row was lost');
is($node->safe_psql('postgres', "SELECT count(*) FROM privacy.purge_runs WHERE status IN ('failed', 'running')"), '0',
	'no run failed or was left running');

# 5. A streaming standby waits; promoted, it purges.
$node->backup('retention_backup');
my $standby = PostgreSQL::Test::Cluster->new('retention_standby');
$standby->init_from_backup($node, 'retention_backup', has_streaming => 1);
$standby->start;
# The primary stops purging (its list becomes empty) so that only the standby could.
$node->safe_psql('postgres', "ALTER SYSTEM SET privacy.databases = ''; SELECT pg_reload_conf();");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM ($worker_sql) w"), 'the primary stops purging');
load('standby', 30);
$node->wait_for_catchup($standby, 'replay', $node->lsn('insert'));
ok($standby->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($worker_sql) w"),
	'a worker runs on the standby');
sleep 3;
is(count_kind($standby, 'standby'), '30', 'the standby does not purge (three naptimes later)');
unlike(slurp_file($standby->logfile), qr/purge round in database .* stopped|read-only transaction/,
	'and does not try to');
$node->stop;
$standby->promote;
ok($standby->poll_query_until('postgres', "SELECT count(*) = 0 FROM msgs WHERE kind = 'standby'"),
	'promoted, it purges');
is(count_kind($standby, 'fresh'), '800', 'and keeps unexpired rows');
is(count_kind($standby, 'held'), '200', 'and held rows');

$standby->stop;
done_testing();
