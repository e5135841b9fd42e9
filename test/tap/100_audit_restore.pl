# Backup and restore of the audit through pg_dump / pg_restore: the chain (log, checkpoints, the
# records still queued, the qid sequence) and the HMAC key are carried, so the restored database
# verifies, a head exported before the dump still verifies, and pseudonyms still link. pg_dump
# warns about nothing (no circular foreign key on retention_policies). The restore itself is
# recorded in the chain, and the door it uses (COPY FROM into an empty log) opens for nothing else.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use PgPrivacyTest qw(add_keyring);

my $node = PostgreSQL::Test::Cluster->new('audit_restore');
$node->init;
add_keyring($node);
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'pg_privacy'\n");
$node->start;

$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION pg_privacy;
	CREATE TABLE msgs (id int PRIMARY KEY, tenant_id text, created_at timestamptz DEFAULT now(), body text);
	CREATE INDEX ON msgs (created_at);
	CREATE TABLE tags (msg_id int REFERENCES msgs, tag text);
	SELECT privacy.audit('msgs', 'hmac');
	SELECT privacy.set_retention('msgs', 'created_at', '30 days');
	SELECT privacy.set_retention_child('tags', 'msgs');
	SELECT privacy.set_context('acme', 'ana', scope => 'session');
	INSERT INTO msgs SELECT g, 'acme', now(), 'body ' || g FROM generate_series(1, 20) g;
	SELECT privacy.audit_seal();
	SELECT privacy.audit_purge('0 seconds');
	SELECT privacy.set_context('acme', 'bob', scope => 'session');
	INSERT INTO msgs SELECT g, 'acme', now(), 'body ' || g FROM generate_series(21, 30) g;
	SELECT privacy.erase_subject('nobody-registered', tenant => 'acme');
	SELECT privacy.audit_seal();
	SELECT privacy._audit_erase_subject('acme', 'bob');
});
my $head = $node->safe_psql('src', q{SELECT id || ' ' || hash FROM privacy.audit_head()});
my ($head_id, $head_hash) = split / /, $head;
ok($head_id > 20, "a head exported before the dump (id $head_id)");
# Records still queued at dump time.
$node->safe_psql('src', q{
	SELECT privacy.set_context('acme', 'carol', scope => 'session');
	INSERT INTO msgs VALUES (31, 'acme', now(), 'queued at dump time');
});
my $queued = $node->safe_psql('src', q{SELECT count(*) FROM privacy.audit_queue});
ok($queued > 0, "$queued records are still queued at dump time");
my $hmac = $node->safe_psql('src', q{SELECT privacy.audit_hmac('ana')});
my $subjects = $node->safe_psql('src', q{SELECT string_agg(id || ':' || coalesce(subject, '-'), ',' ORDER BY id) FROM privacy.audit_log});
my $checkpoint = $node->safe_psql('src', q{SELECT id || ' ' || encode(hash, 'hex') FROM privacy.audit_checkpoints});

my $tmp = PostgreSQL::Test::Utils::tempdir;
my ($stdout, $stderr);
my $ok = IPC::Run::run([ 'pg_dump', '-Fc', '-h', $node->host, '-p', $node->port, '-f', "$tmp/src.dump", 'src' ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_dump -Fc succeeds');
is($stderr, '', 'pg_dump prints no warning (no circular foreign key)');

$node->safe_psql('postgres', 'CREATE DATABASE dst');
$ok = IPC::Run::run([ 'pg_restore', '-h', $node->host, '-p', $node->port, '-d', 'dst', "$tmp/src.dump" ],
	'>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore succeeds');
is($stderr, '', 'pg_restore prints no error or warning');

is($node->safe_psql('dst', q{SELECT ok FROM privacy.audit_verify()}), 't', 'the restored chain verifies');
is($node->safe_psql('dst', qq{SELECT ok FROM privacy.audit_verify(head_id => $head_id, head_hash => '$head_hash')}),
	't', 'the head exported before the dump verifies against the restored database');
is($node->safe_psql('dst', q{SELECT id || ' ' || encode(hash, 'hex') FROM privacy.audit_checkpoints}),
	$checkpoint, 'the checkpoint is carried');
is($node->safe_psql('dst', q{SELECT privacy.audit_hmac('ana')}), $hmac,
	'audit_hmac() gives the same pseudonym: the HMAC key is carried');
is($node->safe_psql('dst', q{SELECT string_agg(id || ':' || coalesce(subject, '-'), ',' ORDER BY id) FROM privacy.audit_log}),
	$subjects, 'every record keeps its subject and pseudonym (erased subjects included)');
is($node->safe_psql('dst', q{SELECT count(*) FROM privacy.audit_queue WHERE kind = 'dml' AND subject = 'carol'}), '1',
	'the record queued at dump time is carried');
is($node->safe_psql('dst', q{SELECT string_agg(detail->>'table', ',' ORDER BY detail->>'table') FROM privacy.audit_queue
	WHERE kind = 'audit' AND action = 'RESTORE'}), 'audit_checkpoints,audit_log,audit_queue',
	'the restore of each audit table is itself queued as a record');
is($node->safe_psql('dst', q{SELECT parent::text FROM privacy.retention_policies WHERE table_name = 'tags'::regclass}),
	'msgs', 'a retention child and its parent are restored');

# Sealing in the restored database continues the carried chain.
$node->safe_psql('dst', q{SELECT privacy.audit_seal()});
is($node->safe_psql('dst', q{SELECT ok FROM privacy.audit_verify()}), 't', 'after sealing, the chain verifies');
is($node->safe_psql('dst', qq{SELECT ok FROM privacy.audit_verify(head_id => $head_id, head_hash => '$head_hash')}),
	't', 'and still passes through the exported head');
is($node->safe_psql('dst', q{SELECT count(*) FROM privacy.audit_log WHERE kind = 'audit' AND action = 'RESTORE'}), '3',
	'the RESTORE records are sealed after the restored ones');

# The verification is not vacuous: a changed record in the restored copy is caught at the head.
$node->safe_psql('dst', qq{
	BEGIN;
	SELECT privacy.audit_maintenance(true, 'tap: tamper');
	UPDATE privacy.audit_log SET action = 'DELETE' WHERE id = $head_id - 2;
	COMMIT;
});
is($node->safe_psql('dst', qq{SELECT ok FROM privacy.audit_verify(head_id => $head_id, head_hash => '$head_hash')}),
	'f', 'control: a record changed after the restore fails verification');

# The door opens for a dump's COPY into an empty log only.
my ($ret, $out, $err) = $node->psql('dst',
	q{COPY (SELECT * FROM privacy.audit_log ORDER BY id DESC LIMIT 1) TO stdout} . "\n");
my $row = $out;
$row =~ s/^(\d+)/999999/;
($ret, $out, $err) = $node->psql('dst', "COPY privacy.audit_log FROM stdin;\n$row\n\\.\n");
like($err, qr/PV301|append-only/, 'COPY FROM into a log that already holds records is refused (PV301)');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION pg_privacy');
($ret, $out, $err) = $node->psql('fresh', q{INSERT INTO privacy.audit_checkpoints VALUES (1, '\x00', 1)});
like($err, qr/append-only/, 'an INSERT into an empty checkpoint table is refused: the door is COPY FROM only');

# A plain-format dump restored with psql carries the chain the same way.
$ok = IPC::Run::run([ 'pg_dump', '-h', $node->host, '-p', $node->port, '-f', "$tmp/src.sql", 'src' ],
	'>', \$stdout, '2>', \$stderr);
is($stderr, '', 'plain pg_dump prints no warning');
$node->safe_psql('postgres', 'CREATE DATABASE dst_plain');
($ret, $out, $err) = $node->psql('dst_plain', '', extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', "$tmp/src.sql" ]);
is($ret, 0, 'psql restores the plain dump without error');
is($node->safe_psql('dst_plain', qq{SELECT ok FROM privacy.audit_verify(head_id => $head_id, head_hash => '$head_hash')}),
	't', 'the plain restore verifies against the exported head');

$node->stop;
done_testing();
