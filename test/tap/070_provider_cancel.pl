# Provider call: a hung provider is cut off by statement_timeout and by pg_cancel_backend within
# a short bound, and after every call, error and cancel (log_statement = all), the server log
# holds neither the registered API key nor the planted PII. Starts its own loopback fixture
# (PGP_PROVIDER_FIXTURE, set by scripts/test.sh).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time sleep);

my $fixture_bin = $ENV{PGP_PROVIDER_FIXTURE};
BAIL_OUT('PGP_PROVIDER_FIXTURE does not name the provider fixture (scripts/test.sh sets it)')
  unless $fixture_bin && -x $fixture_bin;
BAIL_OUT('the curl CLI is missing: run scripts/deps.sh') unless grep { -x "$_/curl" } split /:/, $ENV{PATH};

# The fixture: its first line on stdout is the port.
my $record = PostgreSQL::Test::Utils::tempdir() . '/requests.jsonl';
my $fixture_pid = open(my $fx, '-|', $fixture_bin, '--port', '0', '--record', $record)
  or die "cannot start the fixture: $!";
my $port = <$fx>;
chomp $port;
my $url = "http://127.0.0.1:$port";
sub fixture_stop {
	return unless $fixture_pid;
	kill 'TERM', $fixture_pid;
	close $fx;
	$fixture_pid = undef;
}
END { fixture_stop(); }

sub fixture_mode {
	my ($mode) = @_;
	system('curl', '-s', '-o', '/dev/null', '-X', 'POST', "$url/__control", '-d',
		qq({"mode": "$mode", "count": 1})) == 0
	  or die 'fixture control failed';
}

my $node = PostgreSQL::Test::Cluster->new('provider');
$node->init;
my $keyring = $node->basedir . '/keyring';
open(my $k, '>', $keyring) or die;
print $k join('', map { sprintf('%02x', int(rand(256))) } 1 .. 32);
close $k;
chmod 0600, $keyring;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'pg_privacy'
privacy.keyring_file = '$keyring'
log_statement = 'all'
log_min_error_statement = error
});
$node->start;

my $api_key = 'sk-proj-TAPsecretKEY0123456789abcdefghijKLMNOP';
my $email = 'tap.planted.person@example.org';
my $card = '4111 1111 1111 1111';

# Registration through a prepared statement: the key is only in the EXECUTE line, which the log
# scrubber redacts (an OpenAI-shaped key).
$node->safe_psql('postgres', qq{
	CREATE EXTENSION pg_privacy;
	PREPARE reg(text) AS SELECT privacy.register_provider('hung', 'openai', '$url', 'gpt-tap', 'EU',
	  api_key => \$1, timeout_ms => 60000, max_retries => 0);
	EXECUTE reg('$api_key');
	INSERT INTO privacy.tenants (tenant_id, region, ai_opt_in) VALUES ('acme', 'EU', true);
});
is($node->safe_psql('postgres', "SELECT has_api_key FROM privacy.provider_list WHERE name = 'hung'"),
	't', 'provider registered with a wrapped key');

# The same through a bind parameter of the extended protocol (pgbench -M extended): the key is
# then only in the log's "DETAIL: parameters: $1 = '...'" line, which is withheld (the statement
# names register_provider) and would be redacted by the scrubber too.
my $bind_key = 'sk-proj-BINDsecretKEY0123456789abcdefghijKLMNOP';
my $script = PostgreSQL::Test::Utils::tempdir() . '/register.sql';
open(my $sf, '>', $script) or die;
print $sf "SELECT privacy.register_provider('bound', 'openai', 'http://127.0.0.1:9', 'm', 'EU', api_key => :key);\n";
close $sf;
my $log_before = -s $node->logfile;
command_ok([ 'pgbench', '-n', '-t', '1', '-M', 'extended', '-f', $script, '-D', "key=$bind_key",
	'-h', $node->host, '-p', $node->port, 'postgres' ], 'register_provider with the key as a bind parameter');
is($node->safe_psql('postgres', "SELECT has_api_key FROM privacy.provider_list WHERE name = 'bound'"),
	't', 'the bound key was stored wrapped');

my $call = qq{SELECT privacy.provider_call('hung', jsonb_build_object('messages', jsonb_build_array(
  jsonb_build_object('role', 'user', 'content', 'mail $email card $card'))))};

# A normal call first: it works, and what arrived is redacted.
my $out = $node->safe_psql('postgres',
	"BEGIN; SELECT privacy.set_context('acme', 'u1'); $call; COMMIT;");
like($out, qr/summary of 1 messages/, 'a call to the fixture succeeds');

# statement_timeout cuts off a hung provider.
fixture_mode('hang');
my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
	SELECT set_config('tap.t0', clock_timestamp()::text, false);
	BEGIN;
	SELECT privacy.set_context('acme', 'u1');
	SET LOCAL statement_timeout = '300ms';
	$call;
	ROLLBACK;
	SELECT 'elapsed_ms=' || (extract(epoch FROM clock_timestamp() - current_setting('tap.t0')::timestamptz) * 1000)::int;
}, on_error_stop => 0);
like($stderr, qr/canceling statement due to statement timeout/, 'statement_timeout cancels the hung call (57014)');
my ($ms) = $stdout =~ /^elapsed_ms=(\d+)$/m;
ok(defined $ms && $ms < 300 + 200, "statement_timeout 300 ms: the whole session took ${\($ms // 'n/a')} ms (< 500)");
diag("statement_timeout: $ms ms for a 300 ms timeout");

# pg_cancel_backend cuts off a hung provider.
fixture_mode('hang');
my ($in, $o, $e) = ('', '', '');
my $h = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c',
	  "BEGIN; SELECT privacy.set_context('acme', 'u1'); $call; COMMIT;" ],
	\$in, \$o, \$e);
my $pid = '';
for (1 .. 200) {
	$pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE query LIKE '%privacy.provider_call(%' AND state = 'active' AND pid <> pg_backend_pid()");
	last if $pid ne '';
	sleep 0.05;
}
isnt($pid, '', 'the hung call is running');
sleep 0.3;    # well inside the wait for the provider
my $t0 = time;
$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
my $t1 = time;    # pg_cancel_backend has returned (a psql start included)
$h->finish;
my $t2 = time;
my $cancel_ms = int(($t2 - $t0) * 1000);
my $after_ms = int(($t2 - $t1) * 1000);
like($e, qr/canceling statement due to user request/, 'pg_cancel_backend cancels the hung call (57014)');
ok($cancel_ms < 500, "the cancelled call ended $cancel_ms ms after pg_cancel_backend was started (< 500, psql start included)");
ok($after_ms < 150, "and $after_ms ms after pg_cancel_backend returned (< 150)");
diag("pg_cancel_backend: $cancel_ms ms from starting the cancelling psql, $after_ms ms after it returned");
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'"),
	'0', 'the backend is idle again');

# A failing statement that carries the PII and the key: logged (log_statement, STATEMENT), scrubbed.
$node->psql('postgres', "SELECT privacy.provider_call('nope', '{\"messages\": [{\"role\": \"user\", \"content\": \"$email $card $api_key\"}]}')");

$node->stop;
my $log = slurp_file($node->logfile);
like($log, qr/provider_call/, 'the statements are in the server log (log_statement = all)');
like($log, qr/statement timeout/, 'the timeout is in the server log');
unlike($log, qr/\Q$api_key\E/, 'the server log holds no API key');
unlike($log, qr/TAPsecretKEY/, 'not even a part of the API key');
like($log, qr/DETAIL:  \[withheld by pg_privacy: the statement passes a secret\]/,
	'the bind parameter line is withheld: register_provider passes a secret (docs/security.md)');
unlike($log, qr/BINDsecretKEY/, 'the server log holds no key passed as a bind parameter');
unlike($log, qr/\Q$email\E/, 'the server log holds no planted email');
unlike($log, qr/\Q$card\E/, 'the server log holds no planted card number');
fixture_stop();
my $rec = slurp_file($record);
unlike($rec, qr/\Q$email\E|\Q$card\E|\Q$api_key\E/, 'the fixture never received the email, card or key');
like($rec, qr/EMAIL_REDACTED/, 'the fixture received the placeholders');

done_testing();
