# Server-log scrubbing: a failed statement that carried a card number and a password leaves
# neither in the server log (message, detail, statement), and privacy.scrub_server_log = off
# turns the hook off (showing that the test can see a leak).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('scrub');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_privacy'\nlog_min_error_statement = error\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_privacy;
	CREATE TABLE accounts (id int PRIMARY KEY, note text CHECK (length(note) < 10));
});

my $card = '4111 1111 1111 1111';
my $card2 = '5500 0055 5555 5559';
my $secret = 'Xk9#mQ2vLp8zR4tW';

sub log_since {
	my ($offset) = @_;
	my $log = slurp_file($node->logfile);
	return substr($log, $offset);
}

# Scrubbing on (the default when preloaded).
my $offset = -s $node->logfile;
my ($ret, $out, $err) = $node->psql('postgres',
	"INSERT INTO accounts VALUES (1, 'card $card password=$secret')");
isnt($ret, 0, 'the insert fails on the check constraint');
my $log = log_since($offset);
like($log, qr/violates check constraint/, 'the error is in the server log');
unlike($log, qr/\Q$card\E/, 'the card number is not in the server log');
unlike($log, qr/\Q$secret\E/, 'the password is not in the server log');
like($log, qr/CREDIT_CARD_REDACTED/, 'the log shows where the card was');
like($log, qr/STATEMENT:.*INSERT INTO accounts/, 'the statement is still logged, scrubbed');

# log_statement = all: the statement line itself is scrubbed too.
$offset = -s $node->logfile;
$node->safe_psql('postgres', "SET log_statement = 'all'; SELECT 'call me at ana\@example.com' AS x");
$log = log_since($offset);
unlike($log, qr/ana\@example\.com/, 'a logged statement carries no email');
like($log, qr/EMAIL_REDACTED/, 'the logged statement is redacted');

# With scrubbing off, the same statement leaks: the check above can fail.
$offset = -s $node->logfile;
$node->psql('postgres',
	"SET privacy.scrub_server_log = off; INSERT INTO accounts VALUES (2, 'card $card2')");
$log = log_since($offset);
like($log, qr/\Q$card2\E/, 'with privacy.scrub_server_log = off the value is logged as is');

# An ordinary role cannot turn scrubbing off.
$node->safe_psql('postgres', 'CREATE ROLE app LOGIN');
($ret, $out, $err) = $node->psql('postgres', 'SET privacy.scrub_server_log = off', extra_params => ['-U', 'app']);
like($err, qr/permission denied to set parameter/, 'only a superuser may turn scrubbing off');

$node->stop;
done_testing();
