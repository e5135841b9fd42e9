# Tenancy fails closed at the edges a SQL suite cannot reach: after DROP EXTENSION ... CASCADE a
# protected table stays closed (RLS forced, no policy), and a session-scoped context does not
# survive a reconnect.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgPrivacyTest qw(protected_node);

my ($node, $token) = protected_node('tenancy', 'SELECT, INSERT');
# Session-scoped authentication is off by default; a superuser turns it on for this role.
$node->safe_psql('postgres', 'ALTER ROLE app SET privacy.authenticate_session_scope = on');

is($node->safe_psql('postgres', "SELECT privacy.authenticate('$token', 'session'); SELECT count(*) FROM msgs",
	extra_params => ['-U', 'app']), "acme\n1", 'with a token the application sees its tenant');
is($node->safe_psql('postgres', 'SELECT count(*) FROM msgs', extra_params => ['-U', 'app']), '0',
	'a new connection starts without a context');

# The audit log holds records (the table's DDL, the policies): the drop must be confirmed
# (090_drop_guard.pl tests the guard itself).
$node->safe_psql('postgres', 'SET privacy.allow_drop_with_data = on; DROP EXTENSION pg_privacy CASCADE');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_policy WHERE polrelid = 'msgs'::regclass}), '0',
	'DROP EXTENSION CASCADE removed both policies');
is($node->safe_psql('postgres', q{SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE oid = 'msgs'::regclass}),
	't', 'row-level security stays enabled and forced');
is($node->safe_psql('postgres', 'SELECT count(*) FROM msgs', extra_params => ['-U', 'app']), '0',
	'after DROP EXTENSION the application sees nothing (closed, not open)');
my ($ret, $out, $err) = $node->psql('postgres', "INSERT INTO msgs VALUES (3, 'acme', 'x')", extra_params => ['-U', 'app']);
like($err, qr/row-level security/, 'and cannot write');

$node->stop;
done_testing();
