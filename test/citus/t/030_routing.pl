# Routing: under a verified context, a tenant's statement on a protected table distributed by its
# tenant column touches only that tenant's shard (one task), with no WHERE tenant_id = ... written
# by the application, and returns what the tenant policy allows, no more and no less.
use strict;
use warnings;
use Test::More;
use CitusTest;

my $token = tenant_setup('k30');
query(COORD, qq{
	CREATE TABLE chats (tenant_id text NOT NULL, id int, body text, PRIMARY KEY (tenant_id, id));
	SELECT create_distributed_table('chats', 'tenant_id');
	SELECT privacy.protect('chats');
	CREATE TABLE topics (id int PRIMARY KEY, name text);
	INSERT INTO topics SELECT i, 'topic ' || i FROM generate_series(1, 5) AS i;
	GRANT SELECT, INSERT, UPDATE, DELETE ON chats TO app;
	GRANT SELECT ON topics TO app;
	INSERT INTO chats SELECT t, i, 'chat ' || i FROM generate_series(1, 30) AS i,
	  unnest(ARRAY['acme', 'globex', 'initech']) AS t;
});
my %tok = map { $_ => $token->($_) } qw(acme globex initech);
sub as_tenant {
	my ($tenant, $sql) = @_;
	my $out = query(COORD, "BEGIN; SELECT privacy.authenticate('$tok{$tenant}'); $sql; COMMIT;", user => 'app');
	$out =~ s/^\Q$tenant\E\n//;
	return $out;
}
sub tasks {
	my ($plan) = @_;
	return $plan =~ /Task Count: (\d+)/ ? $1 : 'none';
}
my $all = query(COORD, 'SELECT count(*) FROM pg_dist_shard WHERE logicalrelid = \'chats\'::regclass');

is(tasks(as_tenant('acme', 'EXPLAIN (COSTS OFF) SELECT * FROM chats')), 1,
	'a tenant\'s SELECT with no WHERE clause runs as one task');
is(tasks(query(COORD, 'EXPLAIN (COSTS OFF) SELECT * FROM chats', user => 'app')), $all,
	'without a context it fans out to every shard (and returns nothing)');
is(as_tenant('acme', 'SELECT count(*) || \'/\' || count(*) FILTER (WHERE tenant_id = \'acme\') FROM chats'), '30/30',
	'the routed query returns all of the tenant\'s rows and nothing else');
is(tasks(as_tenant('globex', 'EXPLAIN (COSTS OFF) UPDATE chats SET body = body WHERE id < 3')), 1, 'UPDATE runs as one task');
is(tasks(as_tenant('globex', 'EXPLAIN (COSTS OFF) DELETE FROM chats WHERE id = 999')), 1, 'DELETE runs as one task');
is(as_tenant('globex', 'UPDATE chats SET body = \'edited\' WHERE id <= 2 RETURNING tenant_id'), "globex\nglobex",
	'a routed UPDATE changes only the tenant\'s rows');
is(query(COORD, 'SELECT count(*) FROM chats WHERE body = \'edited\''), '2', 'exactly those two rows');
is(tasks(as_tenant('acme', 'EXPLAIN (COSTS OFF) SELECT c.body, t.name FROM chats c JOIN topics t ON t.id = c.id % 5 + 1')),
	1, 'a join with a local table is routed too');
is(as_tenant('acme', 'SELECT count(*) FROM chats c LEFT JOIN topics t ON t.id = c.id'), '30',
	'a statement with an outer join is not routed (Citus refuses the derived qual beside it on PG 15) and works');
is(as_tenant('initech', 'SELECT count(*) FROM topics t LEFT JOIN chats c ON c.id = t.id'), '5',
	'a protected table on the nullable side of an outer join: the unmatched rows stay');
is(query(COORD, "BEGIN; SELECT privacy.authenticate('$tok{acme}') IS NOT NULL; SELECT count(*) FROM chats; COMMIT;"),
	"t\n90", 'a superuser with a context (not bound by the policy) still sees every row: no qual is added for it');

# A prepared statement re-planned for another tenant: no cached plan keeps the previous tenant's shard.
my $prepared = query(COORD, join("\n",
	"PREPARE n AS SELECT count(*) || ':' || min(tenant_id) FROM chats;",
	(map { "BEGIN; SELECT privacy.authenticate('$tok{acme}') IS NULL; EXECUTE n; COMMIT;" } 1 .. 7),
	"BEGIN; SELECT privacy.authenticate('$tok{globex}') IS NULL; EXECUTE n; COMMIT;",
	"BEGIN; SELECT privacy.authenticate('$tok{acme}') IS NULL; EXECUTE n; SELECT privacy.authenticate('$tok{initech}') IS NULL; EXECUTE n; COMMIT;"),
	user => 'app');
is(join(',', grep { !/^f$/ } split /\n/, $prepared),
	join(',', ('30:acme') x 7, '30:globex', '30:acme', '30:initech'),
	'a prepared statement follows the context: each execution reads the current tenant\'s rows');

done_testing();
