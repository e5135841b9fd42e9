# Kills the sealing backend (SIGKILL) while privacy.audit_seal() moves a large queue: the
# postmaster goes through crash recovery, the half-done seal leaves no trace, sealing again seals
# every record exactly once, and the chain verifies (also after a restart, against its head).
# (SIGKILL of the postmaster alone would let the busy backend finish and commit.)
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rows = 300000;
my $node = PostgreSQL::Test::Cluster->new('audit_crash');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_privacy'\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION pg_privacy;
	CREATE TABLE t (id int PRIMARY KEY, body text);
	SELECT privacy.audit('t');
	SELECT privacy.audit_seal();
});
$node->safe_psql('postgres', "INSERT INTO t SELECT g, 'row ' || g FROM generate_series(1, $rows) g");
is($node->safe_psql('postgres', 'SELECT count(*) FROM privacy.audit_queue'), $rows, "$rows records queued");

# The sealer runs in the background; once its uncommitted inserts have grown the log's files,
# it is in the middle of its work, and its backend is killed there at once (the whole seal takes
# a few seconds).
my ($out, $err) = ('', '');
my $sealer = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', 'SELECT privacy.audit_seal()' ],
	'>', \$out, '2>', \$err);
ok( $node->poll_query_until('postgres',
		q{SELECT pg_relation_size('privacy.audit_log') > 2 * 1024 * 1024}),
	'the sealer is part-way');
my $pid = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT privacy.audit_seal()%' AND state = 'active'});
ok($pid =~ /^\d+$/, 'the sealing backend is found');
kill 'KILL', $pid;
$sealer->finish;
ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'the server is back after crash recovery');
unlike($out, qr/^\s*\d+\s*$/m, 'the sealer was killed before it returned');
like(slurp_file($node->logfile), qr/terminated by signal 9/, 'the postmaster saw the backend crash');

is($node->safe_psql('postgres', q{SELECT count(*) FROM privacy.audit_log WHERE table_name = 'public.t' AND kind = 'dml'}),
	0, 'after recovery nothing of the interrupted seal is in the log');
is($node->safe_psql('postgres', 'SELECT count(*) FROM privacy.audit_queue'), $rows,
	'and every record is still queued');
is($node->safe_psql('postgres', 'SELECT privacy.audit_seal()'), $rows, 'sealing again seals them all');
is($node->safe_psql('postgres',
		q{SELECT count(*) || ' ' || count(DISTINCT pk->>'id') FROM privacy.audit_log WHERE table_name = 'public.t' AND kind = 'dml'}),
	"$rows $rows", 'each write sealed exactly once');
is($node->safe_psql('postgres', q{SELECT ok::int || ' ' || checked FROM privacy.audit_verify()}),
	'1 ' . $node->safe_psql('postgres', 'SELECT count(*) FROM privacy.audit_log'), 'the whole chain verifies');
my $head = $node->safe_psql('postgres', q{SELECT id || ',' || hash FROM privacy.audit_head()});
my ($hid, $hhash) = split /,/, $head;
$node->restart;
is($node->safe_psql('postgres', "SELECT ok FROM privacy.audit_verify(head_id => $hid, head_hash => '$hhash')"),
	't', 'after a clean restart the chain still reaches the exported head');
$node->stop;
done_testing();
