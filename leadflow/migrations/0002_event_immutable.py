from django.db import migrations

# The event log is append-only: the database itself refuses UPDATE and DELETE, so neither a
# bug nor a careless admin action can rewrite history. (TRUNCATE, used by test teardown
# and by an operator on purpose, is not a row operation and stays possible.)
FORWARD = """
CREATE FUNCTION leadflow_event_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'leadflow_event rows are immutable (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER leadflow_event_no_change
BEFORE UPDATE OR DELETE ON leadflow_event
FOR EACH ROW EXECUTE FUNCTION leadflow_event_immutable();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS leadflow_event_no_change ON leadflow_event;
DROP FUNCTION IF EXISTS leadflow_event_immutable();
"""


class Migration(migrations.Migration):
    dependencies = [("leadflow", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
