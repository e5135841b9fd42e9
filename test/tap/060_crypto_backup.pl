# Crypto-shredding reaches backups: a base backup taken before privacy.shred_tenant() still holds
# the tenant's wrapped key rows, yet restored with the same master key it cannot read the
# tenant's data, because the tenant's secret in privacy.keyring_dir (outside the data directory)
# is gone. A control restore given a copy of the keyring directory taken with the backup can
# read it: the keyring directory must never be backed up with the database (docs/crypto.md).
use strict;
use warnings;
use File::Copy;
use File::Path qw(make_path);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgPrivacyTest qw(add_keyring);

my $node = PostgreSQL::Test::Cluster->new('crypto_primary');
$node->init(allows_streaming => 1);
my $tenants = add_keyring($node);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_privacy'\n");
$node->start;

my $seal = q{
	CREATE EXTENSION pg_privacy;
	CREATE TABLE notes (tenant text, e bytea);
	SELECT privacy.set_context('acme', 'u1', scope => 'session');
	INSERT INTO notes SELECT 'acme', privacy.encrypt('acme before backup');
	SELECT privacy.set_context('globex', 'u2', scope => 'session');
	INSERT INTO notes SELECT 'globex', privacy.encrypt('globex before backup');
	CREATE TABLE subject_notes (e bytea);
	INSERT INTO subject_notes SELECT privacy.encrypt('ana before backup', 'ana');
};
$node->safe_psql('postgres', $seal);

# reads_subject($node): ana's value in globex, as reads() below.
sub reads_subject {
	my ($n) = @_;
	my ($ret, $out, $err) = $n->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT privacy.set_context('globex', 'u', scope => 'session');\n"
		  . "SELECT privacy.decrypt(e) FROM subject_notes");
	$out =~ s/^\s+//;
	return ($out, $err);
}

# reads($node, $tenant): (decrypted text, stderr) in a fresh session of that tenant.
sub reads {
	my ($n, $tenant) = @_;
	my ($ret, $out, $err) = $n->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT privacy.set_context('$tenant', 'u', scope => 'session');\n"
		  . "SELECT privacy.decrypt(e) FROM notes WHERE tenant = '$tenant'");
	$out =~ s/^\s+//;
	return ($out, $err);
}

my ($out, $err) = reads($node, 'acme');
is($out, 'acme before backup', 'acme reads its value before the backup');

$node->backup('before_shred');
# What an operator must not do: keep the keyring directory with the backups. Kept here as the control.
my $tenants_copy = $node->basedir . '/tenants_copy';
make_path($tenants_copy);
chmod 0700, $tenants_copy;
copy($_, $tenants_copy) or die "copy: $!" for glob("$tenants/*.key");
chmod 0600, glob("$tenants_copy/*.key");

is($node->safe_psql('postgres', q{SELECT privacy.shred_tenant('acme')}), '2',
	'shred_tenant destroys acme\'s data key and pseudonym key');
($out, $err) = reads($node, 'acme');
like($err, qr/PV704/, 'on the primary, acme\'s value is now unreadable (PV704)');

# One person erased in globex: their own key goes, the tenant's stays.
($out, $err) = reads_subject($node);
is($out, 'ana before backup', 'ana\'s value, under her own key, reads before the erasure');
is($node->safe_psql('postgres', q{SELECT privacy.erase_subject('ana', tenant => 'globex')->>'subject_keys_shredded'}),
	'1', 'erase_subject shreds ana\'s key');
($out, $err) = reads_subject($node);
like($err, qr/PV704/, 'on the primary, ana\'s value is now unreadable (PV704)');

# Restore the backup taken before the shred, with the same configuration (same master key,
# same keyring directory).
my $restored = PostgreSQL::Test::Cluster->new('crypto_restored');
$restored->init_from_backup($node, 'before_shred');
$restored->start;
is($restored->safe_psql('postgres',
	q{SELECT count(*) FROM privacy.tenant_keys WHERE tenant_id = 'acme' AND wrapped IS NOT NULL}),
	'2', 'the restored backup still holds acme\'s wrapped keys from before the shred');
($out, $err) = reads($restored, 'acme');
like($err, qr/PV704/, 'yet the restored backup cannot read acme\'s value (PV704)');
unlike($err, qr/acme before backup/, 'and the error does not show the value');
($out, $err) = reads($restored, 'globex');
is($out, 'globex before backup', 'the restored backup still reads the tenant that was not shredded');
is($restored->safe_psql('postgres',
	q{SELECT count(*) FROM privacy.tenant_keys WHERE tenant_id = 'globex' AND kind = 2 AND wrapped IS NOT NULL}),
	'1', 'the restored backup still holds ana\'s wrapped key from before the erasure');
($out, $err) = reads_subject($restored);
like($err, qr/PV704/, 'yet it cannot read ana\'s value: her secret file is gone (PV704)');
unlike($err, qr/ana before backup/, 'and the error does not show the value');

# Control: the same backup, given the keyring directory as it was at backup time, reads acme.
my $leaky = PostgreSQL::Test::Cluster->new('crypto_leaky_restore');
$leaky->init_from_backup($node, 'before_shred');
$leaky->append_conf('postgresql.conf', "privacy.keyring_dir = '$tenants_copy'\n");
$leaky->start;
($out, $err) = reads($leaky, 'acme');
is($out, 'acme before backup',
	'control: with a copy of the keyring directory from backup time, the backup can read acme');

$leaky->stop;
$restored->stop;
$node->stop;
done_testing();
