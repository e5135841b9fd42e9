# Loading and installing beside Citus: both libraries preloaded on every node, CREATE EXTENSION
# pg_privacy on the coordinator installs it on every worker, and Citus plans and runs distributed
# statements through pg_privacy's hooks.
use strict;
use warnings;
use Test::More;
use CitusTest;

for my $n (all_nodes()) {
	is(query($n, 'SHOW shared_preload_libraries'), 'citus,pg_privacy',
		"node $n preloads citus first, then pg_privacy");
	is(query($n, "SELECT extversion IS NOT NULL FROM pg_extension WHERE extname = 'citus'"), 't',
		"node $n has the citus extension (one relcache callback slot per library leaves room for Citus)");
}
is(query(COORD, 'SELECT count(*) FROM citus_get_active_worker_nodes()'), '2', 'two workers are registered');

query_ok(COORD, 'CREATE EXTENSION pg_privacy', 'CREATE EXTENSION pg_privacy on the coordinator');
my $version = query(COORD, "SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy'");
for my $n (W1, W2) {
	is(query($n, "SELECT extversion FROM pg_extension WHERE extname = 'pg_privacy'"), $version,
		"the coordinator's CREATE EXTENSION installed pg_privacy $version on worker $n");
}
for my $n (all_nodes()) {
	is(query($n, 'SELECT privacy.preloaded()'), 't', "node $n runs pg_privacy preloaded");
}

# Citus's planner and executor run behind pg_privacy's single hooks.
query(COORD, q{
	CREATE TABLE load_check (tenant_id text NOT NULL, id int, body text);
	SELECT create_distributed_table('load_check', 'tenant_id');
	INSERT INTO load_check SELECT CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'globex' END, i, 'row ' || i
	  FROM generate_series(1, 20) AS i;
});
is(query(COORD, 'SELECT count(*) FROM load_check'), '20', 'a distributed table is written and read across the shards');
like(query(COORD, "EXPLAIN (COSTS OFF) SELECT * FROM load_check WHERE tenant_id = 'acme'"), qr/Task Count: 1\b/,
	'a query with the distribution column is routed to one shard');
query(COORD, 'DROP TABLE load_check');

done_testing();
