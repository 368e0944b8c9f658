# SPEC §1 rev. 2: named, expiring API tokens; removed users (soft delete) whose email may be
# reused; idempotency keys per user; custom domains unique per tenant (generated, plus the
# RunSQL that carries the default domains' platform-wide uniqueness over).
from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [('models', '0007_ledger')]

    initial = False

    operations = [
        ops.AlterModelOptions(
            name='ApiToken',
            options={'table': 'api_token', 'app': 'models', 'indexes': [Index(fields=['tenant_id', 'user_id'], name='api_token_user_idx')], 'pk_attr': 'id', 'table_description': 'A bearer token of one user, stored only as its SHA-256 hash (§1 rev. 2). Its times'},
        ),
        ops.AddField(
            model_name='ApiToken',
            name='expires_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='last_used_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='ApiToken',
            name='name',
            field=fields.CharField(default='API token', db_default='API token', max_length=100),
        ),
        ops.AddIndex(
            model_name='ApiToken',
            index=Index(fields=['tenant_id', 'user_id'], name='api_token_user_idx'),
        ),
        ops.AlterField(
            model_name='Domain',
            name='name',
            field=fields.CharField(max_length=253),
        ),
        # On SQLite the AlterField above rebuilds the table and loses its other indexes.
        ops.RunSQL('CREATE INDEX IF NOT EXISTS "domain_tenant_sub_idx" ON "domain" ("tenant_id", "subscription_id")'),
        ops.AddField(
            model_name='Domain',
            name='reserved_name',
            field=fields.CharField(null=True, unique=True, max_length=253),
        ),
        # The default domains keep their platform-wide uniqueness (models.Domain).
        ops.RunSQL('UPDATE "domain" SET "reserved_name" = "name" WHERE "is_default"'),
        ops.AddConstraint(
            model_name='Domain',
            constraint=UniqueConstraint(fields=('tenant_id', 'name'), name='domain_tenant_name_uq'),
        ),
        ops.RemoveConstraint(
            model_name='IdempotencyRecord',
            name='idempotency_key_uq',
            fields=None,
        ),
        ops.AddConstraint(
            model_name='IdempotencyRecord',
            constraint=UniqueConstraint(fields=('tenant_id', 'user_id', 'mutation', 'key'), name='idempotency_user_key_uq'),
        ),
        ops.RemoveConstraint(
            model_name='User',
            name='user_tenant_email_uq',
            fields=None,
        ),
        ops.AddField(
            model_name='User',
            name='removal_key',
            field=fields.BigIntField(default=0, db_default=0),
        ),
        ops.AddField(
            model_name='User',
            name='removed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddConstraint(
            model_name='User',
            constraint=UniqueConstraint(fields=('tenant_id', 'email', 'removal_key'), name='user_current_email_uq'),
        ),
    ]
