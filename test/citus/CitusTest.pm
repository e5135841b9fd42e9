# Helpers of the Citus cluster tests (test/citus/t/*.pl), run by test/citus/run.sh, which starts
# the nodes and exports CITUS_SOCK, CITUS_PORTS (coordinator first) and PGBIN.
package CitusTest;
use strict;
use warnings;
use Exporter 'import';
use IPC::Run ();
use Test::More;

our @EXPORT = qw(COORD W1 W2 psql query query_ok fails_with all_nodes tenant_setup);

use constant { COORD => 0, W1 => 1, W2 => 2 };

my @ports = split ' ', ($ENV{CITUS_PORTS} // die "CITUS_PORTS is not set: run test/citus/run.sh\n");
my $sock = $ENV{CITUS_SOCK} // die "CITUS_SOCK is not set\n";
my $psql = ($ENV{PGBIN} // '/usr/lib/postgresql/15/bin') . '/psql';

sub all_nodes { return (COORD, W1, W2) }

# psql($node, $sql, %opts) -> ($rc, $stdout, $stderr): runs $sql in database pgp (or
# $opts{db}) on node $node as postgres (or $opts{user}), unaligned and tuples only, stopping at the
# first error; errors are verbose, so stderr holds "ERROR:  <SQLSTATE>: <message>".
sub psql {
	my ($node, $sql, %opts) = @_;
	my @cmd = ($psql, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose',
		'-h', $sock, '-p', $ports[$node], '-U', $opts{user} // 'postgres', '-d', $opts{db} // 'pgp');
	my ($out, $err) = ('', '');
	IPC::Run::run(\@cmd, '<', \$sql, '>', \$out, '2>', \$err);
	my $rc = $? >> 8;
	chomp $out;
	return ($rc, $out, $err);
}

# query($node, $sql, %opts) -> stdout; dies (failing the test script) on an error.
sub query {
	my ($node, $sql, %opts) = @_;
	my ($rc, $out, $err) = psql($node, $sql, %opts);
	die "query on node $node failed: $err\nSQL: $sql\n" if $rc != 0;
	return $out;
}

# query_ok($node, $sql, $name, %opts): a test that $sql runs without error; returns stdout.
sub query_ok {
	my ($node, $sql, $name, %opts) = @_;
	my ($rc, $out, $err) = psql($node, $sql, %opts);
	ok($rc == 0, $name) or diag("node $node: $err");
	return $out;
}

# fails_with($node, $sql, $sqlstate, $message_re, $name, %opts): a test that $sql fails with
# that SQLSTATE and a message matching $message_re (undef: any message).
sub fails_with {
	my ($node, $sql, $sqlstate, $message_re, $name, %opts) = @_;
	my ($rc, $out, $err) = psql($node, $sql, %opts);
	my ($state, $msg) = $err =~ /^(?:ERROR|FATAL):\s+([0-9A-Z]{5}):\s+(.*)$/m;
	my $good = $rc != 0 && defined $state && $state eq $sqlstate
	  && (!defined $message_re || $msg =~ $message_re);
	ok($good, $name) or diag("node $node: rc $rc, expected $sqlstate, got: " . ($err || $out));
	return $msg;
}

# tenant_setup($kid): pg_privacy, the application role "app" (USAGE on schema public) and an
# HS256 signing key $kid on the coordinator; returns a function ($tenant, $subject, $roles_json)
# that signs a token valid for ten minutes.
sub tenant_setup {
	my ($kid) = @_;
	my $secret = "citus-test-secret-$kid-0123456789abcdef0123";
	query(COORD, qq{CREATE EXTENSION IF NOT EXISTS pg_privacy;
		DO \$\$ BEGIN CREATE ROLE app LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \$\$;
		GRANT USAGE ON SCHEMA public TO app;
		SELECT privacy.add_signing_key('$kid', 'HS256', '$secret');});
	return sub {
		my ($tenant, $subject, $roles) = @_;
		$subject //= 'u';
		$roles //= '[]';
		return query(COORD, qq{SELECT privacy.sign_token(jsonb_build_object('tenant_id', '$tenant', 'sub', '$subject',
			'roles', '$roles'::jsonb, 'exp', extract(epoch FROM now())::bigint + 600), '$kid', 'HS256', '$secret')});
	};
}

1;
