# SPEC §9: webhook endpoints and their delivery attempts; the wall-clock time an event was
# written (retention counts from it), filled for earlier events from when they occurred.
from tortoise import migrations
from tortoise.migrations import operations as ops
from billing_center.domain.models import DeliveryStatus
from orjson import loads
from tortoise.fields.base import OnDelete
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0011_events')]

    initial = False

    operations = [
        ops.CreateModel(
            name='WebhookEndpoint',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('url', fields.CharField(max_length=2048)),
                ('description', fields.CharField(default='', max_length=200)),
                ('event_types', fields.JSONField(default=list, encoder=JSON_DUMPS, decoder=loads)),
                ('secret', fields.CharField(max_length=80)),
                ('enabled', fields.BooleanField(default=True)),
                ('failing_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('delivered_through', fields.BigIntField(default=0)),
                ('head_attempts', fields.IntField(default=0)),
                ('head_failed_since', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('lease_owner', fields.CharField(null=True, max_length=64)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_endpoint', 'app': 'models', 'indexes': [Index(fields=['tenant_id'], name='webhook_endpoint_tenant_idx')], 'pk_attr': 'id', 'table_description': "A URL that receives a tenant's events (§9), in sequence order. `delivered_through` is"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='WebhookDelivery',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('tenant', fields.ForeignKeyField('models.Tenant', source_field='tenant_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('endpoint', fields.ForeignKeyField('models.WebhookEndpoint', source_field='endpoint_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('event', fields.ForeignKeyField('models.Event', source_field='event_id', db_constraint=True, to_field='id', related_name=False, on_delete=OnDelete.CASCADE)),
                ('attempt', fields.IntField()),
                ('manual', fields.BooleanField(default=False)),
                ('status', fields.CharEnumField(description='PENDING: PENDING\nSUCCEEDED: SUCCEEDED\nFAILED: FAILED', enum_type=DeliveryStatus, max_length=10)),
                ('response_status', fields.IntField(null=True)),
                ('duration_ms', fields.IntField(null=True)),
                ('error', fields.CharField(null=True, max_length=200)),
                ('attempted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('next_attempt_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'webhook_delivery', 'app': 'models', 'indexes': [Index(fields=['endpoint_id', 'id'], name='webhook_delivery_endpoint_idx'), Index(fields=['created_at'], name='webhook_delivery_created_idx')], 'pk_attr': 'id', 'table_description': 'One attempt to deliver an event to an endpoint (§9): its outcome, the response code,'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Event',
            name='recorded_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.RunSQL('UPDATE "event" SET "recorded_at" = "occurred_at"'),
        ops.RunSQL('CREATE INDEX IF NOT EXISTS "event_recorded_idx" ON "event" ("recorded_at")'),
        ops.RunSQL('CREATE INDEX IF NOT EXISTS "webhook_delivery_event_idx" ON "webhook_delivery" ("event_id")'),
    ]
