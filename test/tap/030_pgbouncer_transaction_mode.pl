# Behind pgbouncer in transaction mode with a single server connection, every client shares one
# backend: a verified context (transaction scope) must never reach the next client's transaction.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgPrivacyTest qw(protected_node);

my $pgbouncer = '/usr/sbin/pgbouncer';
# A missing tool fails the test, never skips it: scripts/deps.sh installs pgbouncer.
BAIL_OUT("$pgbouncer is missing: run scripts/deps.sh") unless -x $pgbouncer;

my ($node, $token) = protected_node('pooled', 'SELECT');

# pgbouncer: transaction pooling, one server connection for everyone.
my $dir = PostgreSQL::Test::Utils::tempdir;
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $host = $node->host;
my $server_port = $node->port;
open my $ini, '>', "$dir/pgbouncer.ini" or die;
print $ini <<"INI";
[databases]
postgres = host=$host port=$server_port dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = 1
max_client_conn = 10
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
close $ini;
open my $users, '>', "$dir/users.txt" or die;
print $users qq{"app" ""\n};
close $users;
system($pgbouncer, '-d', "$dir/pgbouncer.ini") == 0 or die 'pgbouncer did not start';
sleep 1;

sub via_pool {
	my ($sql) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-At', '-h', '127.0.0.1', '-p', $port, '-U', 'app', '-d', 'postgres',
		'-q', '-c', $sql ], '>', \$out, '2>', \$err);
	chomp $out;
	return $out;
}

my $pid_a = via_pool('SELECT pg_backend_pid()');
my $pid_b = via_pool('SELECT pg_backend_pid()');
is($pid_a, $pid_b, 'the pool serves every client from the same backend');

is(via_pool("BEGIN; SELECT privacy.authenticate('$token'); SELECT count(*) FROM msgs; COMMIT;"), "acme\n1",
	'client A sees its tenant inside its transaction');
is(via_pool('SELECT count(*) FROM msgs'), '0', 'client B, on the same backend, sees nothing');
is(via_pool('SELECT privacy.current_tenant() IS NULL'), 't', 'and has no context');
via_pool("BEGIN; SELECT privacy.authenticate('$token'); ROLLBACK;");
is(via_pool('SELECT count(*) FROM msgs'), '0', 'nor after a rolled-back transaction of client A');

kill 'TERM', `cat $dir/pgbouncer.pid`;
$node->stop;
done_testing();
