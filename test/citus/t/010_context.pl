# The verified context on the shards: protect() on a table already distributed; a tenant's
# statements in a transaction on the coordinator run under the same verified context on the
# workers (sealed by the coordinator, SET LOCAL privacy.cluster_context, replayed by Citus); a
# client connecting to a worker cannot forge or alter that context.
use strict;
use warnings;
use Test::More;
use CitusTest;

my $token = tenant_setup('k1');
query(COORD, qq{
	CREATE TABLE messages (tenant_id text NOT NULL, id bigserial, body text, PRIMARY KEY (tenant_id, id));
	SELECT create_distributed_table('messages', 'tenant_id');
	INSERT INTO messages (tenant_id, body)
	  SELECT CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'globex' END, 'message ' || i FROM generate_series(1, 40) AS i;
	GRANT SELECT, INSERT, UPDATE, DELETE ON messages TO app;
	GRANT USAGE ON SEQUENCE messages_id_seq TO app;
});
query_ok(COORD, "SELECT privacy.protect('messages')", 'protect() works on a table already distributed by its tenant column');
is(query(COORD, "SELECT count(*) FROM pg_policy WHERE polrelid = 'messages'::regclass"), '2', 'both tenant policies on the table');
for my $n (W1, W2) {
	is(query($n, "SET citus.override_table_visibility = off; SELECT count(DISTINCT polname) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
	                WHERE c.relname LIKE 'messages\\_1%' AND c.relrowsecurity AND c.relforcerowsecurity"),
		'2', "worker $n: the shards have forced row-level security and both policies");
}
is(query(COORD, "SELECT count(*) FROM pg_attrdef WHERE adrelid = 'messages'::regclass AND adnum = 1"), '0',
	'no DEFAULT on the distribution column (Citus refuses to alter it)');

my $acme = $token->('acme', 'u-acme', '["support"]');
my $globex = $token->('globex', 'u-globex');

# ---- on the coordinator, in a transaction ----
is(query(COORD, qq{BEGIN; SELECT privacy.authenticate('$acme');
	SELECT count(*) || ':' || count(*) FILTER (WHERE tenant_id = 'acme') FROM messages; COMMIT;}, user => 'app'),
	"acme\n20:20", 'a tenant in a transaction reads its 20 rows from every shard, and only its rows');
is(query(COORD, 'SELECT count(*) FROM messages', user => 'app'), '0', 'without a context: no rows');
is(query(COORD, qq{BEGIN; SELECT privacy.authenticate('$acme');
	INSERT INTO messages (tenant_id, body) VALUES ('acme', 'new') RETURNING tenant_id; ROLLBACK;}, user => 'app'),
	"acme\nacme", 'a tenant inserts its own row (the shard checks WITH CHECK under the same context)');
fails_with(COORD, qq{BEGIN; SELECT privacy.authenticate('$acme');
	INSERT INTO messages (tenant_id, body) VALUES ('globex', 'forged'); COMMIT;},
	'42501', qr/row-level security/, 'a row for another tenant is refused on the shard', user => 'app');
is(query(COORD, qq{BEGIN; SELECT privacy.authenticate('$acme'); SELECT count(*) FROM messages;
	SELECT privacy.authenticate('$globex'); SELECT count(*) FILTER (WHERE tenant_id = 'globex') FROM messages;
	SELECT privacy.logout(); SELECT count(*) FROM messages; COMMIT;}, user => 'app'),
	"acme\n20\nglobex\n20\n\n0", 'switching tenant and logging out inside a transaction reach the workers at once');
is(query(COORD, qq{BEGIN; SAVEPOINT s; SELECT privacy.authenticate('$acme'); ROLLBACK TO SAVEPOINT s;
	SELECT count(*) FROM messages; COMMIT;}, user => 'app'),
	"acme\n0", 'a context set in a rolled-back savepoint is gone on the workers too');
is(query(COORD, qq{BEGIN; SELECT privacy.authenticate('$acme');
	SELECT DISTINCT privacy.current_roles()::text || privacy.current_subject() FROM messages; COMMIT;}, user => 'app'),
	"acme\n{support}u-acme", 'roles and subject reach the shards');
fails_with(COORD, qq{SELECT privacy.authenticate('$acme', 'session')}, 'PV953', qr/session-scoped/,
	'a session-scoped context is refused on a Citus cluster', user => 'app');

# ---- a client connecting to a worker directly ----
my $sealed = query(COORD, qq{BEGIN; SELECT privacy.authenticate('$acme');
	SELECT current_setting('privacy.cluster_context'); COMMIT;}, user => 'app');
$sealed = (split /\n/, $sealed)[1];
like($sealed, qr/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'the coordinator seals the context it sends');
is(query(W1, 'SELECT count(*) FROM messages', user => 'app'), '0', 'on a worker without a context: no rows');
fails_with(W1, q{SET privacy.cluster_context = 'eyJ0ZW5hbnQiOiJnbG9iZXgifQ.AAAA'}, 'PV951', qr/cluster context refused/,
	'a made-up context is refused when set on a worker', user => 'app');
(my $altered = $sealed) =~ s/^(.{12})(.)/$1 . ($2 eq 'A' ? 'B' : 'A')/e;
fails_with(W1, "SET privacy.cluster_context = '$altered'", 'PV951', qr/cluster context refused/,
	'a sealed context with one character changed is refused', user => 'app');
is(query(W1, "SET privacy.cluster_context = '$sealed'; SELECT privacy.current_tenant(), privacy.current_subject()",
	user => 'app'), 'acme|u-acme', 'the coordinator\'s own sealed context opens on a worker, for its tenant only');
is(query(W1, "BEGIN; SET LOCAL citus.propagate_set_commands = 'local'; SET LOCAL privacy.cluster_context = '$sealed';
	SELECT count(*) FILTER (WHERE tenant_id = 'acme') || '/' || count(*) FROM messages; COMMIT;", user => 'app'),
	'20/20', 'and reads only that tenant\'s rows');
fails_with(W1, "BEGIN; SET LOCAL privacy.cluster_context = '$sealed';
	DECLARE c CURSOR WITH HOLD FOR SELECT * FROM messages; COMMIT;", 'PV216', qr/holdable cursor/,
	'a holdable cursor is refused under a received context, as under the backend\'s own (its rows would outlive it)',
	user => 'app');
is(query(W1, "BEGIN; DECLARE c CURSOR WITH HOLD FOR SELECT count(*) FROM messages; COMMIT; FETCH c; CLOSE c;",
	user => 'app'), '0', 'without a context a holdable cursor is allowed on a worker (and reads no row)');

# unprotect() and protect() again on the distributed table.
query_ok(COORD, "SELECT privacy.unprotect('messages')", 'unprotect() works on a distributed table');
is(query(W1, "SET citus.override_table_visibility = off; SELECT count(*) FROM pg_policy p JOIN pg_class c
	ON c.oid = p.polrelid WHERE c.relname LIKE 'messages\\_1%'"), '0', 'the shards lose the policies');
is(query(COORD, 'SELECT count(*) FROM messages', user => 'app'), '40', 'and the rows are open again without a context');
query_ok(COORD, "SELECT privacy.protect('messages')", 'protect() again');
is(query(COORD, 'SELECT count(*) FROM messages', user => 'app'), '0', 'closed again');

done_testing();
