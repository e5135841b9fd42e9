# Audit on a cluster: audit()/unaudit() work on distributed tables; a row written on a shard is
# recorded on that worker under the distributed table's name with the verified tenant and subject;
# Citus's internal DDL (propagated commands, shards) is not recorded as user DDL; one function on
# the coordinator verifies every node's chain and exports every node's head.
use strict;
use warnings;
use Test::More;
use CitusTest;

my $token = tenant_setup('k50');
query(COORD, qq{
	CREATE TABLE ledger (tenant_id text NOT NULL, id int, amount int, PRIMARY KEY (tenant_id, id));
	SELECT create_distributed_table('ledger', 'tenant_id');
	SELECT privacy.protect('ledger');
	GRANT SELECT, INSERT, UPDATE, DELETE ON ledger TO app;
});
my $acme = $token->('acme', 'alice');

query_ok(COORD, "SELECT privacy.audit('ledger')", 'audit() works on a distributed table');
query_ok(COORD, qq{BEGIN; SELECT privacy.authenticate('$acme');
	INSERT INTO ledger VALUES ('acme', 1, 10), ('acme', 2, 20), ('acme', 3, 30);
	UPDATE ledger SET amount = 11 WHERE id = 1; DELETE FROM ledger WHERE id = 3; COMMIT;},
	'a tenant writes to the audited distributed table', user => 'app');
query($_, 'SELECT privacy.audit_seal()') for all_nodes();

my $on_workers = join ',', map {
	query($_, q{SELECT count(*) FILTER (WHERE kind = 'dml') || ':' || string_agg(DISTINCT table_name, ' ')
	  || ':' || string_agg(DISTINCT tenant || '/' || subject, ' ') FROM privacy.audit_log WHERE kind = 'dml'})
} (W1, W2);
my @per_worker = split /,/, $on_workers;
my ($records) = (0);
for (@per_worker) { $records += (split /:/)[0] }
is($records, 5, 'the five row changes are recorded on the workers holding the shard');
like($on_workers, qr/:public\.ledger:acme\/alice/, 'records name the distributed table, not the shard, with the verified tenant and subject');
unlike($on_workers, qr/ledger_\d+/, 'no record names a shard');

is(join(',', map { query($_, q{SELECT count(*) FROM privacy.audit_log WHERE kind = 'ddl'}) } (W1, W2)), '0,0',
	'no DDL record on the workers: Citus\'s propagated commands and shard DDL are not user DDL');
my $alter_records = q{SELECT count(*) FROM privacy.audit_log WHERE kind = 'ddl' AND action = 'ALTER TABLE'
	AND table_name = 'public.ledger'};
my $before = query(COORD, $alter_records);
query(COORD, 'ALTER TABLE ledger ADD COLUMN note text');
query($_, 'SELECT privacy.audit_seal()') for all_nodes();
is(query(COORD, $alter_records) - $before, 1, 'the user\'s ALTER TABLE is recorded once, on the coordinator');
is(join(',', map { query($_, q{SELECT count(*) FROM privacy.audit_log WHERE kind = 'ddl'}) } (W1, W2)), '0,0',
	'and not again on each shard');

# Any client may set Citus's marker as its application_name: on the coordinator it changes nothing.
query(COORD, 'GRANT CREATE ON SCHEMA public TO app');
query(COORD, q{SET application_name = 'citus_internal gpid=10000000001'; CREATE TABLE spoofed (x int)}, user => 'app');
query(COORD, 'SELECT privacy.audit_seal()');
is(query(COORD, q{SELECT count(*) FROM privacy.audit_log WHERE kind = 'ddl' AND action = 'CREATE TABLE'
	AND table_name = 'public.spoofed'}), '1',
	'DDL on the coordinator under a client-set citus_internal application_name is still recorded');
query(COORD, 'DROP TABLE spoofed; REVOKE CREATE ON SCHEMA public FROM app');

my @nodes = split /\n/, query(COORD, q{SELECT nodeid || ':' || ok || ':' || (head_hash ~ '^[0-9a-f]{64}$')
	FROM privacy.cluster_audit_verify()});
is(scalar(@nodes), 3, 'cluster_audit_verify() reports every node');
is(scalar(grep { /:true:true$/ } @nodes), 3, 'every node\'s chain verifies and its head is exported');
my ($holder) = grep { query($_, q{SELECT count(*) FROM privacy.audit_log WHERE kind = 'dml'}) > 0 } (W1, W2);
query($holder, q{BEGIN; SELECT privacy.audit_maintenance(true, 'test: break the chain');
	UPDATE privacy.audit_log SET action = 'TAMPERED' WHERE id = (SELECT max(id) FROM privacy.audit_log WHERE kind = 'dml');
	COMMIT;});
is(query(COORD, 'SELECT count(*) FROM privacy.cluster_audit_verify() WHERE NOT ok'), '1',
	'a record changed on one worker is found from the coordinator');
query_ok(COORD, "SELECT privacy.unaudit('ledger')", 'unaudit() works on a distributed table');

done_testing();
