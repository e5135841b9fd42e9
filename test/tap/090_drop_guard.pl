# No silent loss: DROP EXTENSION pg_privacy (and DROP OWNED BY its owner) is refused with PV901
# while tenant or subject keys, wrapped provider API keys or audit records exist, naming what
# would be lost; privacy.allow_drop_with_data = on confirms it. Without shared_preload_libraries,
# so the guard is shown to hold in a session that has not loaded the library yet.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgPrivacyTest qw(add_keyring);

my $node = PostgreSQL::Test::Cluster->new('drop_guard');
$node->init;
add_keyring($node);
$node->start;

# Nothing to lose: a fresh extension drops as any other.
$node->safe_psql('postgres', 'CREATE EXTENSION pg_privacy');
my ($ret, $out, $err) = $node->psql('postgres', 'DROP EXTENSION pg_privacy');
is($ret, 0, 'a freshly created pg_privacy, holding nothing, drops without confirmation');

$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_privacy;
	CREATE TABLE notes (e bytea);
	SELECT privacy.set_context('acme', 'u1', scope => 'session');
	INSERT INTO notes VALUES (privacy.encrypt('kept')), (privacy.encrypt('ana''s', 'ana'));
	SELECT privacy.register_provider('p', 'openai', 'http://127.0.0.1:9', 'm', 'EU', api_key => 'sk-test-0123456789');
});

# A new session: the library is not loaded yet when DROP EXTENSION runs.
($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\nDROP EXTENSION pg_privacy CASCADE");
isnt($ret, 0, 'DROP EXTENSION pg_privacy CASCADE is refused while keys and records exist');
like($err, qr/PV901/, 'with SQLSTATE PV901');
like($err, qr/would destroy 2 tenant keys \(1 tenant\), 1 subject key, 1 provider API key and \d+ audit records/,
	'the message names what would be lost');
like($err, qr/HINT:.*pg_dump.*privacy\.allow_drop_with_data = on/s, 'the hint says how to keep a copy and how to confirm');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_privacy'}), '1',
	'the extension is still there');
is($node->safe_psql('postgres', q{SELECT privacy.set_context('acme', 'u1', scope => 'session');
	SELECT string_agg(d, ',' ORDER BY d) FROM (SELECT privacy.decrypt(e) AS d FROM notes) x}), "\nana's,kept",
	'and its values still decrypt');

($ret, $out, $err) = $node->psql('postgres', 'DROP EXTENSION IF EXISTS pgcrypto, pg_privacy CASCADE');
like($err, qr/PV901|would destroy/, 'naming it among other extensions is refused too');

$node->safe_psql('postgres', 'CREATE ROLE ext_owner SUPERUSER');
($ret, $out, $err) = $node->psql('postgres', 'DROP OWNED BY ext_owner');
is($ret, 0, 'DROP OWNED BY a role that does not own pg_privacy is not affected');
($ret, $out, $err) = $node->psql('postgres', 'DROP OWNED BY CURRENT_USER');
like($err, qr/would destroy/, 'DROP OWNED BY the owner of pg_privacy is refused');

# Confirmed: the setting is given before the library is loaded in the session (a placeholder the
# library takes over when the event trigger loads it).
($ret, $out, $err) = $node->psql('postgres',
	"SET privacy.allow_drop_with_data = on;\nDROP EXTENSION pg_privacy CASCADE");
is($ret, 0, 'with privacy.allow_drop_with_data = on the drop goes through');
like($err, qr/WARNING:  dropping pg_privacy destroys/, 'with a WARNING naming what was destroyed');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_extension WHERE extname = 'pg_privacy'}), '0',
	'the extension is gone');

# An ordinary role cannot switch the guard off.
$node->safe_psql('postgres', 'CREATE EXTENSION pg_privacy; CREATE ROLE plain LOGIN');
($ret, $out, $err) = $node->psql('postgres', "SELECT privacy.preloaded();\nSET privacy.allow_drop_with_data = on",
	extra_params => ['-U', 'plain']);
like($err, qr/permission denied to set parameter/, 'privacy.allow_drop_with_data is superuser-only (library loaded)');
($ret, $out, $err) = $node->psql('postgres',
	"SET privacy.allow_drop_with_data = on;\nSELECT privacy.preloaded();\nSHOW privacy.allow_drop_with_data",
	extra_params => ['-U', 'plain']);
is((split /\n/, $out)[-1], 'off', 'a placeholder set by an ordinary role before the library loads is not taken over');

$node->stop;
done_testing();
