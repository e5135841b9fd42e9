# pg_privacy loads with and without shared_preload_libraries, survives a restart and a crash of a
# backend (the postmaster reinitialises and the extension keeps working).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Without preloading: CREATE EXTENSION and the SQL surface work; preloaded() says false.
my $plain = PostgreSQL::Test::Cluster->new('plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', 'CREATE EXTENSION pg_privacy');
like($plain->safe_psql('postgres', 'SELECT privacy.version()'),
	qr/^pg_privacy \d+\.\d+\.\d+ \(RE2 /, 'version works without preloading');
is($plain->safe_psql('postgres', 'SELECT privacy.preloaded()'), 'f',
	'preloaded() is false when loaded on first use');
like($plain->safe_psql('postgres', q{SELECT privacy.redact('mail ana@example.com')}),
	qr/\[EMAIL_REDACTED\]/, 'redaction works without preloading');
my ($pret, $pout, $perr) = $plain->psql('postgres', 'SELECT * FROM privacy.findings');
like($perr, qr/requires pg_privacy in shared_preload_libraries/,
	'a feature that needs preloading says so');
like($perr, qr/HINT:.*shared_preload_libraries/, 'with a hint that tells how');
$plain->stop;

# Preloaded: survives restart and a backend crash.
my $node = PostgreSQL::Test::Cluster->new('preloaded');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_privacy'\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION pg_privacy');
is($node->safe_psql('postgres', 'SELECT privacy.preloaded()'), 't', 'preloaded() is true');

$node->restart;
is($node->safe_psql('postgres', 'SELECT privacy.preloaded()'), 't', 'works after a restart');

# A C++ error in one backend is an ordinary ERROR: the server log shows no crash.
my ($ret, $out, $err) = $node->psql('postgres', "SELECT privacy._selftest_raise('std_exception')");
isnt($ret, 0, 'a C++ exception fails the statement');
like($err, qr/internal error in pg_privacy/, 'with the documented message');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/,
	'no backend crashed');

# Kill a backend with SIGKILL: the postmaster restarts all backends; the extension still works.
my $bg = $node->background_psql('postgres');
my $victim = $bg->query_safe('SELECT pg_backend_pid()');
kill 'KILL', $victim;
eval { $bg->quit; };
$node->poll_query_until('postgres', 'SELECT privacy.preloaded()', 't')
  or die 'server did not come back';
like(slurp_file($node->logfile), qr/terminated by signal 9/, 'the backend was killed');
is($node->safe_psql('postgres', 'SELECT privacy.preloaded()'), 't', 'works after crash recovery');

$node->stop;
done_testing();
