# Retention on a cluster: the purge runs from the coordinator, once per table and tenant, and
# deletes a distributed table's rows by primary key (which holds the distribution column), never
# by ctid: two tenants whose rows sit at the same ctids on different shards lose exactly their own
# expired rows. Legal holds, hold columns and tenant periods are respected.
use strict;
use warnings;
use Test::More;
use CitusTest;

query(COORD, q{
	CREATE EXTENSION IF NOT EXISTS pg_privacy;
	CREATE TABLE history (tenant_id text NOT NULL, id int, subject text, created_at timestamptz NOT NULL,
	                      keep_me boolean, PRIMARY KEY (tenant_id, id));
	CREATE INDEX ON history (created_at);
	SELECT create_distributed_table('history', 'tenant_id');
});
# Two tenants on different shards; each gets its rows in the same order, into a fresh shard, so
# their rows share ctids.
my ($old, $new) = split /\|/, query(COORD, q{
	SELECT 'tenant-1|tenant-' || min(i) FROM generate_series(2, 50) i
	 WHERE get_shard_id_for_distribution_column('history', 'tenant-' || i)
	       <> get_shard_id_for_distribution_column('history', 'tenant-1')});
ok($old && $new, "two tenants on two shards: $old, $new");
query(COORD, qq{
	INSERT INTO history SELECT '$old', i, 's' || i, now() - interval '40 days', false FROM generate_series(1, 10) i;
	INSERT INTO history SELECT '$new', i, 's' || i, now() - interval '1 day', false FROM generate_series(1, 10) i;
});
is(query(COORD, "SELECT string_agg(ctid::text, ',' ORDER BY id) FROM history WHERE tenant_id = '$old'"),
	query(COORD, "SELECT string_agg(ctid::text, ',' ORDER BY id) FROM history WHERE tenant_id = '$new'"),
	'the two tenants\' rows sit at the same ctids, each in its own shard');

query(COORD, q{SELECT privacy.set_retention('history', 'created_at', interval '30 days', tenant_column => 'tenant_id',
	hold_column => 'keep_me', batch_size => 3, subject_column => 'subject')});
query(COORD, "UPDATE history SET keep_me = true WHERE tenant_id = '$old' AND id = 1");
query(COORD, "SELECT privacy.place_hold('$old', 's2', 'a lawsuit about one subject')");
query_ok(COORD, 'CALL privacy.purge()', 'CALL privacy.purge() on the coordinator works on a distributed table');
is(query(COORD, "SELECT string_agg(id::text, ',' ORDER BY id) FROM history WHERE tenant_id = '$old'"), '1,2',
	'the expired tenant keeps only its held rows (hold column, subject hold)');
is(query(COORD, "SELECT count(*) FROM history WHERE tenant_id = '$new'"), '10',
	'the other tenant, whose rows share those ctids on another shard, keeps every row');
is(query(COORD, q{SELECT count(*) || '/' || sum(rows_deleted) || '/' || count(*) FILTER (WHERE status <> 'done')
	FROM privacy.purge_runs WHERE table_name = 'public.history'}), '1/8/0',
	'one run, from the coordinator, for the table\'s unlisted tenants: 8 rows in committed batches');
# The purge's three parts together: the C procedure (retention_run.cpp) records the run in
# privacy.history with the rows the distributed batches (80_cluster.sql) deleted, and a delegated
# purge by a member of privacy_purger runs the same steps, the Citus one included, with its own
# privileges (privacy.role_grants), on the coordinator and the shards.
is(query(COORD, q{SELECT status || '/' || (counts->>'rows_deleted') FROM privacy.history
	WHERE operation = 'purge' ORDER BY started_at DESC LIMIT 1}), 'done/8',
	'privacy.history records the purge: done, with the 8 rows deleted by key on the shards');
query(COORD, qq{INSERT INTO history SELECT '$old', i, 'p' || i, now() - interval '40 days', false FROM generate_series(20, 22) i;
	CREATE ROLE purge_job LOGIN IN ROLE privacy_purger;
	SELECT count(*) FROM privacy.create_roles()});
query_ok(COORD, 'CALL privacy.purge()', 'a member of privacy_purger purges the distributed table', user => 'purge_job');
is(query(COORD, "SELECT string_agg(id::text, ',' ORDER BY id) FROM history WHERE tenant_id = '$old'"), '1,2',
	'its batches deleted the new expired rows and kept the held ones');
is(query(COORD, q{SELECT status || '/' || (counts->>'rows_deleted') || '/' || role FROM privacy.history
	WHERE operation = 'purge' ORDER BY started_at DESC LIMIT 1}), 'done/3/purge_job',
	'and its run is in the history under its role');

# A tenant listed with its own period, and a held tenant.
query(COORD, qq{INSERT INTO privacy.tenants (tenant_id, retention) VALUES ('$new', interval '12 hours')});
query(COORD, q{SELECT privacy.place_hold('tenant-held', NULL, 'litigation')});
query(COORD, q{INSERT INTO history SELECT 'tenant-held', i, 'x', now() - interval '90 days', false FROM generate_series(1, 4) i});
query(COORD, 'CALL privacy.purge()');
is(query(COORD, "SELECT count(*) FROM history WHERE tenant_id = '$new'"), '0', 'a listed tenant\'s own period applies');
is(query(COORD, "SELECT count(*) FROM history WHERE tenant_id = 'tenant-held'"), '4', 'a held tenant keeps its rows');
is(query(COORD, "SELECT count(*) FROM history WHERE tenant_id = '$old'"), '2', 'held rows still kept');

for my $n (W1, W2) {
	query($n, 'CALL privacy.purge()');
	is(query($n, 'SELECT count(*) FROM privacy.purge_runs'), '0',
		"worker $n has no policy: its own purge (or background worker) does nothing, the coordinator's runs once");
}

query(COORD, q{CREATE TABLE history_notes (tenant_id text NOT NULL, id int, hid int, PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, hid) REFERENCES history (tenant_id, id));
	SELECT create_distributed_table('history_notes', 'tenant_id', colocate_with => 'history');
	SELECT privacy.set_retention_child('history_notes', 'history')});
fails_with(COORD, 'CALL privacy.purge()', 'PV404', qr/purge failed/, 'a child policy under a distributed table is refused');
like(query(COORD, q{SELECT error FROM privacy.purge_runs WHERE status = 'failed' ORDER BY run_id DESC LIMIT 1}),
	qr/^PV957: retention of child tables under a distributed table is not supported/, 'with PV957 in the run\'s record');
is(query(COORD, "SELECT count(*) FROM history"), '6', 'and nothing was deleted');

done_testing();
