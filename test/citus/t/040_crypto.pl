# Keys on a cluster: tenant keys are created and kept on the coordinator only. A worker refuses
# every encryption function (PV956) instead of creating a second key for the tenant, which a shred
# on the coordinator would never reach. Values are encrypted and decrypted on the coordinator.
use strict;
use warnings;
use Test::More;
use CitusTest;

my $token = tenant_setup('k40');
query(COORD, qq{
	CREATE TABLE vault (tenant_id text NOT NULL, id int, payload bytea, PRIMARY KEY (tenant_id, id));
	SELECT create_distributed_table('vault', 'tenant_id');
	SELECT privacy.protect('vault');
	GRANT SELECT, INSERT, UPDATE ON vault TO app;
});
my $acme = $token->('acme');
sub as_acme { return "BEGIN; SELECT privacy.authenticate('$acme') IS NOT NULL; $_[0]; COMMIT;" }
my $via_coordinator = 'WITH v AS MATERIALIZED (SELECT id, payload FROM vault) SELECT string_agg(privacy.decrypt(payload), \',\' ORDER BY id) FROM v';

query_ok(COORD, as_acme("INSERT INTO vault VALUES ('acme', 1, privacy.encrypt('first')), ('acme', 2, privacy.encrypt('second'))"),
	'privacy.encrypt() in INSERT ... VALUES runs on the coordinator (Citus evaluates it there)', user => 'app');
is(query(COORD, "SELECT count(*) FROM privacy.tenant_keys WHERE tenant_id = 'acme' AND wrapped IS NOT NULL"), '2',
	'the tenant\'s keys were created on the coordinator');
for my $n (W1, W2) {
	is(query($n, 'SELECT count(*) FROM privacy.tenant_keys'), '0', "worker $n holds no key");
}
is(query(COORD, as_acme($via_coordinator), user => 'app'), "t\nfirst,second",
	'decrypt through a materialized CTE runs on the coordinator and reads the values');
fails_with(COORD, as_acme('SELECT privacy.decrypt(payload) FROM vault'), 'PV956', qr/runs on the Citus coordinator/,
	'decrypt pushed down to the shards is refused on the worker (no key there, and none is made)', user => 'app');
query(COORD, q{SET citus.enable_unsafe_triggers = on;
	CREATE TRIGGER vault_encrypt BEFORE INSERT OR UPDATE ON vault FOR EACH ROW EXECUTE FUNCTION privacy.encrypt_trigger('payload')});
fails_with(COORD, as_acme("INSERT INTO vault VALUES ('acme', 3, convert_to('third', 'UTF8'))"),
	'PV956', qr/coordinator/, 'the encrypting trigger on the shards is refused rather than creating a key there', user => 'app');
query(COORD, 'SET citus.enable_unsafe_triggers = on; DROP TRIGGER vault_encrypt ON vault');

my $sealed = (split /\n/, query(COORD, as_acme("SELECT current_setting('privacy.cluster_context')"), user => 'app'))[1];
fails_with(W1, "SET privacy.cluster_context = '$sealed'; SELECT privacy.encrypt('x')", 'PV956', qr/coordinator/,
	'a client on a worker, even with a valid context, cannot create a key there', user => 'app');
is(query(W1, 'SELECT count(*) FROM privacy.tenant_keys'), '0', 'and the worker still holds no key');

query(COORD, "SELECT privacy.shred_tenant('acme')");
fails_with(COORD, as_acme($via_coordinator), 'PV704', undef,
	'after a shred on the coordinator the tenant\'s values are unreadable: the only keys were there', user => 'app');

done_testing();
