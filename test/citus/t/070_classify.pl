# Column classification on a cluster: classify() works on a distributed table (Citus refuses
# ALTER TABLE ... SET STATISTICS there, which classify() runs to keep the column out of pg_stats),
# the column's statistics are off on every shard, where the rows are, and reads under a verified
# context are masked on the shards for a reader without an allowed role.
use strict;
use warnings;
use Test::More;
use CitusTest;

my $token = tenant_setup('k70');
query(COORD, qq{
	CREATE TABLE people (tenant_id text NOT NULL, id int, email text, PRIMARY KEY (tenant_id, id));
	SELECT create_distributed_table('people', 'tenant_id');
	SELECT privacy.protect('people');
	GRANT SELECT ON people TO app;
	INSERT INTO people SELECT CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'globex' END, i, 'person' || i || '\@example.com'
	  FROM generate_series(1, 400) AS i;
});

# The statistics target of people.email on the coordinator and on every shard of a worker.
my $coord_target = q{SELECT attstattarget FROM pg_attribute WHERE attrelid = 'people'::regclass AND attname = 'email'};
sub shard_targets {
	my ($table) = @_;
	return join ',', map {
		query($_, qq{SET citus.override_table_visibility = off; SELECT count(*) || ':' || string_agg(DISTINCT
			a.attstattarget::text, '/') FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
			WHERE c.relname ~ '^${table}_[0-9]+\$' AND a.attname = 'email'})
	} (W1, W2);
}

query_ok(COORD, q{SELECT privacy.classify('people', 'email', 'CONFIDENTIAL', '{support}')},
	'classify() works on a distributed table');
is(query(COORD, $coord_target), '0', 'the coordinator\'s table has the column\'s statistics off');
is(shard_targets('people'), '16:0,16:0', 'and so has every shard, on both workers');
query($_, 'ANALYZE') for (W1, W2);
is(join(',', map { query($_, q{SET citus.override_table_visibility = off; SELECT count(*) FROM pg_stats
	WHERE tablename ~ '^people_[0-9]+$' AND attname = 'email'}) } (W1, W2)), '0,0',
	'ANALYZE on the workers collects no statistics of the classified column');

my $support = $token->('acme', 'u1', '["support"]');
my $other = $token->('acme', 'u2');
is(query(COORD, qq{BEGIN; SELECT privacy.authenticate('$support') IS NOT NULL;
	SELECT email FROM people WHERE id = 2; COMMIT;}, user => 'app'), "t\nperson2\@example.com",
	'a reader with an allowed role reads the value from the shard');
my $masked = query(COORD, qq{BEGIN; SELECT privacy.authenticate('$other') IS NOT NULL;
	SELECT count(*) FILTER (WHERE email LIKE 'person%') || '/' || count(*) FROM people; COMMIT;}, user => 'app');
is($masked, "t\n0/200", 'a reader without it reads every row of its tenant masked');

# A table classified before it is distributed: Citus creates its shards with the target.
query(COORD, q{CREATE TABLE leads (tenant_id text NOT NULL, id int, email text, PRIMARY KEY (tenant_id, id));
	SELECT privacy.classify('leads', 'email', 'RESTRICTED');
	SELECT create_distributed_table('leads', 'tenant_id');});
is(shard_targets('leads'), '16:0,16:0', 'a table classified, then distributed: its shards have the statistics off');

query_ok(COORD, q{SELECT privacy.unclassify('people', 'email')}, 'unclassify() works on a distributed table');
is(query(COORD, $coord_target), '-1', 'the coordinator\'s table gets its statistics back (shards created later too)');
is(shard_targets('people'), '16:0,16:0',
	'existing shards keep them off (run_command_on_shards commits at once: only the safe direction goes there)');

done_testing();
