# No secret in the server log: signing keys (add_signing_key, sign_token), tokens
# (authenticate) and provider API keys (register_provider), in calls that succeed and calls that
# fail, through the simple and the extended protocol, with log_statement = all, every duration
# logged, parameters logged in full, log_min_error_statement = error and verbose errors. Log
# scrubbing is off, so only the secret-statement rule can keep them out.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use PgPrivacyTest qw(add_keyring);

my $node = PostgreSQL::Test::Cluster->new('secretlog');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_privacy'
log_statement = 'all'
log_min_duration_statement = 0
log_min_error_statement = error
log_parameter_max_length = -1
log_parameter_max_length_on_error = -1
log_error_verbosity = verbose
privacy.scrub_server_log = off
});
add_keyring($node);
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_privacy');

# Secrets that no detector would find: plain letters, so that the scrubber could not help.
my @secrets;
sub secret {
	my $s = 'zq' . join('', map { ('a' .. 'z')[int(rand(26))] } 1 .. 38);
	push @secrets, $s;
	return $s;
}

sub psql_fails {
	my ($sql, $name) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql);
	isnt($ret, 0, $name);
	return $err;
}

my $offset = -s $node->logfile;
$node->safe_psql('postgres', q{SELECT 'visible-marker-' || 'before'});

# add_signing_key: success, then failures of every kind.
my $key = secret();
$node->safe_psql('postgres', "SELECT privacy.add_signing_key('k1', 'HS256', '$key')");
psql_fails("SELECT privacy.add_signing_key('k1', 'HS256', '" . secret() . "')", 'a duplicate kid fails');
psql_fails("SELECT privacy.add_signing_key('k2', 'HS256', '" . substr(secret(), 0, 20) . "')",
	'a short HS256 secret fails (PV214)');
psql_fails("SELECT privacy.add_signing_key(repeat('x', 300), 'HS256', '" . secret() . "')",
	'a kid too long fails its CHECK (whose detail would show the row)');
my $cast_err = psql_fails("SELECT privacy.add_signing_key('k3', 'HS256', '" . secret() . "'::int::text)",
	'a secret that fails a cast, before the function runs');
psql_fails("SELECT privacy.add_signing_key('k4', 'RS999', '" . secret() . "')", 'an unknown algorithm fails');
psql_fails("INSERT INTO privacy.signing_keys (kid, alg, key_material) VALUES ('k1', 'HS256', '" . secret() . "')",
	'a direct insert of key material with a duplicate kid fails');

# sign_token: the key and the token it returns.
my $token = $node->safe_psql('postgres',
	"SELECT privacy.sign_token('{\"tenant_id\": \"acme\", \"sub\": \"u1\", \"exp\": 4102444800}', 'k1', 'HS256', '$key')");
like($token, qr/^eyJ/, 'sign_token returns a token');
psql_fails("SELECT privacy.sign_token('{}', 'k1', 'none', '" . secret() . "')", 'sign_token with alg none fails');
psql_fails("SELECT privacy.sign_token('{}', 'k1', 'HS256', '" . secret() . "')::int",
	'a token that fails a cast after sign_token ran');

# authenticate: the token, accepted and refused (tampered).
is($node->safe_psql('postgres', "SELECT privacy.authenticate('$token')"), 'acme', 'the token authenticates');
psql_fails("SELECT privacy.authenticate('${token}x')", 'a tampered token is refused');

# register_provider: the API key, accepted and refused.
my $api_key = 'sk-' . secret();
$node->safe_psql('postgres',
	"SELECT privacy.register_provider('p1', 'openai', 'http://127.0.0.1:9', 'm', 'EU', api_key => '$api_key')");
psql_fails("SELECT privacy.register_provider('bad name!', 'openai', 'http://127.0.0.1:9', 'm', 'EU', api_key => 'sk-"
	  . secret() . "')", 'an invalid provider name fails');
psql_fails("SELECT privacy.register_provider('p2', 'openai', 'ftp://x', 'm', 'EU', api_key => 'sk-" . secret() . "')",
	'an invalid base URL fails');

# privacy.cluster_context: on a Citus worker a sealed value is accepted until it expires, and the
# coordinator's SET LOCAL of it is logged there. A made-up one is refused (PV951) and not logged.
psql_fails("SET privacy.cluster_context = '" . secret() . "'", 'a made-up cluster context is refused');

# The extended protocol: parameters are logged with the statement (and in the error context).
my $script = $node->basedir . '/add_key.sql';
open(my $fh, '>', $script) or die "$script: $!";
print $fh "SELECT privacy.add_signing_key(:kid, 'HS256', :key);\n";
close $fh;
for my $kid ('k9', 'k9') {    # the second call fails: duplicate kid
	my $s = secret();
	my ($out, $err);
	IPC::Run::run(['pgbench', '-n', '-M', 'extended', '-t', '1', '-h', $node->host, '-p', $node->port,
		'-D', "kid=$kid", '-D', "key=$s", '-f', $script, 'postgres'], '>', \$out, '2>', \$err);
}

$node->safe_psql('postgres', q{SELECT 'visible-marker-' || 'after'});
my $log = slurp_file($node->logfile);
$log = substr($log, $offset);

like($log, qr/visible-marker-/, 'ordinary statements are logged (the log is on)');
like($log, qr/withheld by pg_privacy/, 'the log says where a statement was withheld');
like($log, qr/violates check constraint|duplicate key value/, 'the errors themselves are logged');
is($node->safe_psql('postgres', "SELECT count(*) FROM privacy.signing_keys WHERE kid = 'k9'"), '1',
	'the extended-protocol call ran (its statement and parameters were logged, withheld)');
my $leaks = 0;
for my $s (@secrets, $token) {
	if (index($log, $s) >= 0) {
		$leaks++;
		diag("leaked: " . substr($s, 0, 8) . '...');
	}
}
is($leaks, 0, 'none of the ' . (scalar(@secrets) + 1) . ' secrets (keys, API keys, the token) is in the server log');
unlike($cast_err, qr/^$/, 'the client still gets an error for the failed cast');

$node->stop;
done_testing();
