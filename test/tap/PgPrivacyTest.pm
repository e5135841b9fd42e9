# Shared setup of the Perl TAP tests: a preloaded node with pg_privacy, a protected table
# "msgs" holding one acme and one globex row, an application role "app", and an acme token.
package PgPrivacyTest;
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use Exporter 'import';
our @EXPORT_OK = qw(protected_node add_keyring);

my $secret = 'tap-shared-secret-0123456789abcdef0123';

# Gives a node (before it starts) a random master key and a tenant-secret directory outside its
# data directory, owner-only, as privacy.keyring_file and privacy.keyring_dir. Returns the
# directory of tenant secrets.
sub add_keyring {
	my ($node) = @_;
	my $keyring = $node->basedir . '/keyring';
	my $tenants = "$keyring/tenants";
	mkdir $keyring or die "mkdir $keyring: $!";
	mkdir $tenants or die "mkdir $tenants: $!";
	chmod 0700, $keyring, $tenants;
	open(my $fh, '>', "$keyring/master.key") or die "master.key: $!";
	printf $fh "%02x", int(rand(256)) for 1 .. 32;
	close $fh;
	chmod 0600, "$keyring/master.key";
	$node->append_conf('postgresql.conf',
		"privacy.keyring_file = '$keyring/master.key'\nprivacy.keyring_dir = '$tenants'\n");
	return $tenants;
}

# Returns ($node, $acme_token); $app_grants are the privileges the role "app" gets on msgs.
sub protected_node {
	my ($name, $app_grants) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_privacy'\n");
	add_keyring($node);
	$node->start;
	$node->safe_psql('postgres', qq{
		CREATE EXTENSION pg_privacy;
		CREATE TABLE msgs (id int, tenant_id text NOT NULL, body text);
		INSERT INTO msgs VALUES (1, 'acme', 'a'), (2, 'globex', 'g');
		SELECT privacy.protect('msgs');
		CREATE ROLE app LOGIN;
		GRANT $app_grants ON msgs TO app;
		SELECT privacy.add_signing_key('k', 'HS256', '$secret');
	});
	my $token = $node->safe_psql('postgres', qq{
		SELECT privacy.sign_token(jsonb_build_object('tenant_id', 'acme', 'sub', 'u1',
		  'exp', extract(epoch FROM now())::bigint + 600), 'k', 'HS256', '$secret')});
	return ($node, $token);
}

1;
