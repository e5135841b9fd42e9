# Configuration on every node, or refusal; redaction on the workers with the coordinator's rules.
# The coordinator seals its configuration version into the context it sends; a worker whose
# version differs refuses tenant statements (PV954) instead of redacting with other rules or
# built-in detectors only. privacy.cluster_sync() replicates the configuration.
use strict;
use warnings;
use Test::More;
use CitusTest;

my $token = tenant_setup('k20');
query(COORD, qq{
	CREATE TABLE notes (tenant_id text NOT NULL, id int, body text, PRIMARY KEY (tenant_id, id));
	SELECT create_distributed_table('notes', 'tenant_id');
	SELECT privacy.protect('notes');
	GRANT SELECT, INSERT ON notes TO app;
	INSERT INTO notes VALUES ('acme', 1, 'ticket Project-1234 for bluebird, mail a.b\@example.com'),
	                         ('globex', 2, 'Project-9999 about bluebird');
	INSERT INTO privacy.rules (name, entity_type, pattern) VALUES ('project', 'PROJECT', 'Project-[0-9]{4}');
	INSERT INTO privacy.rules (name, entity_type, pattern, action, tenant_id)
	     VALUES ('acme_flower', 'FLOWER', 'tulip', 'BLOCK', 'acme');
	SELECT privacy.load_dictionary('codenames', 'CODENAME', ARRAY['bluebird']);
});
my $acme = $token->('acme');
my $globex = $token->('globex');
sub as_tenant {
	my ($token, $sql) = @_;
	return "BEGIN; SELECT privacy.authenticate('$token') IS NOT NULL; $sql; COMMIT;";
}

my $coordinator_version = query(COORD, 'SELECT privacy._config_digest()');
isnt(query(W1, 'SELECT privacy._config_digest()'), $coordinator_version, 'before a sync, a worker has another version');
fails_with(COORD, as_tenant($acme, 'SELECT privacy.redact(body) FROM notes'), 'PV954', qr/differs from the coordinator/,
	'redaction pushed to a stale worker is refused, not done with built-in detectors only', user => 'app');
fails_with(COORD, as_tenant($acme, 'SELECT count(*) FROM notes'), 'PV954', qr/differs from the coordinator/,
	'a stale worker admits no rows: tenant statements are refused', user => 'app');

my $sync = query(COORD, 'SELECT count(*) || \'/\' || count(DISTINCT config_version) || \'/\' || min(config_version)
	FROM privacy.cluster_sync()');
is($sync, "2/1/$coordinator_version", 'cluster_sync() brings both workers to the coordinator\'s version');
for my $n (W1, W2) {
	is(query($n, 'SELECT privacy._config_digest()'), $coordinator_version, "worker $n has the coordinator's version");
}

my $text = 'ticket Project-1234 for bluebird, mail a.b@example.com';
my $local = query(COORD, as_tenant($acme, "SELECT privacy.redact('$text')"), user => 'app');
my $pushed = query(COORD, as_tenant($acme, 'SELECT privacy.redact(body) FROM notes'), user => 'app');
is($pushed, $local, 'redact() on the shards gives the coordinator\'s result, custom rules and dictionary included');
like($pushed, qr/\[PROJECT_REDACTED\].*\[CODENAME_REDACTED\].*\[EMAIL_REDACTED\]/, 'custom rule, dictionary and built-in detectors all applied');
like(query(COORD, as_tenant($globex, 'SELECT privacy.redact(body) FROM notes'), user => 'app'),
	qr/\[PROJECT_REDACTED\] about \[CODENAME_REDACTED\]/, 'and for another tenant');

# The redact trigger on the shards (Citus needs citus.enable_unsafe_triggers for a trigger on a
# distributed table; it then fires on the shard, on the worker).
query(COORD, q{SET citus.enable_unsafe_triggers = on;
	CREATE TRIGGER notes_redact BEFORE INSERT OR UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION privacy.redact_trigger('body')});
query_ok(COORD, as_tenant($acme, "INSERT INTO notes VALUES ('acme', 10, 'see Project-4242 with bluebird')"),
	'a tenant inserts through the redact trigger on the shard', user => 'app');
is(query(COORD, 'SELECT body FROM notes WHERE id = 10'), 'see [PROJECT_REDACTED] with [CODENAME_REDACTED]',
	'the shard stored the row redacted with the coordinator\'s rules');
fails_with(COORD, as_tenant($acme, "INSERT INTO notes VALUES ('acme', 11, 'a tulip')"), 'PV102', qr/FLOWER/,
	'the tenant\'s BLOCK rule refuses the row on the shard', user => 'app');
query_ok(COORD, as_tenant($globex, "INSERT INTO notes VALUES ('globex', 12, 'a tulip')"),
	'another tenant is not bound by that tenant\'s rule', user => 'app');

# A change on the coordinator is refused on the workers until it is synced.
query(COORD, q{UPDATE privacy.rules SET action = 'MASK' WHERE name = 'project'});
fails_with(COORD, as_tenant($acme, 'SELECT privacy.redact(body) FROM notes'), 'PV954', qr/differs/,
	'after a rule change on the coordinator, the workers refuse until the next sync', user => 'app');
query(COORD, 'SELECT count(*) FROM privacy.cluster_sync()');
query_ok(COORD, as_tenant($acme, 'SELECT privacy.redact(body) FROM notes'), 'after the sync they redact again', user => 'app');
# A change made on a worker is refused too.
query($_, q{DELETE FROM privacy.dictionary_terms}) for (W1, W2);
fails_with(COORD, as_tenant($acme, 'SELECT count(*) FROM notes'), 'PV954', qr/differs/,
	'a worker whose configuration was changed locally refuses (the tenant\'s shard, wherever it is)', user => 'app');
query(COORD, 'SELECT count(*) FROM privacy.cluster_sync()');
is(query(COORD, as_tenant($acme, 'SELECT count(*) FROM notes'), user => 'app'), "t\n2", 'the sync repairs it');
fails_with(COORD, 'SELECT * FROM privacy.cluster_sync()', '42501', undef, 'cluster_sync() is not for application roles',
	user => 'app');

done_testing();
